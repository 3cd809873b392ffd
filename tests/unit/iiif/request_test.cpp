#include "iiif/request.h"

#include <gtest/gtest.h>

namespace sipi::iiif {
namespace {

TEST(Classify, ImageRequestWithPrefix) {
  auto r = classify("/iiif/images/abc.tif/full/max/0/default.jpg");
  ASSERT_TRUE(r);
  auto* img = std::get_if<ImageRequest>(&*r);
  ASSERT_NE(img, nullptr);
  EXPECT_EQ(img->ref.prefix, "iiif/images");
  EXPECT_EQ(img->ref.identifier, "abc.tif");
  EXPECT_EQ(img->format, Format::jpg);
  EXPECT_EQ(img->quality, Quality::default_);
  EXPECT_EQ(base_path(img->ref), "/iiif/images/abc.tif");
}

TEST(Classify, ImageRequestWithoutPrefix) {
  auto r = classify("/abc.jp2/0,0,10,10/pct:50/!90/gray.png");
  ASSERT_TRUE(r);
  auto* img = std::get_if<ImageRequest>(&*r);
  ASSERT_NE(img, nullptr);
  EXPECT_EQ(img->ref.prefix, "");
  EXPECT_EQ(img->ref.identifier, "abc.jp2");
  EXPECT_TRUE(img->rotation.mirror);
  EXPECT_EQ(img->quality, Quality::gray);
  EXPECT_EQ(img->format, Format::png);
  EXPECT_EQ(base_path(img->ref), "/abc.jp2");
}

TEST(Classify, EveryQualityAndFormat) {
  for (const char* q : {"default", "color", "gray", "bitonal"}) {
    for (const char* f : {"jpg", "png", "webp", "tif", "jp2", "gif"}) {
      std::string url = std::string("/x/full/max/0/") + q + "." + f;
      auto r = classify(url);
      ASSERT_TRUE(r) << url;
      EXPECT_TRUE(std::holds_alternative<ImageRequest>(*r)) << url;
    }
  }
}

TEST(Classify, InfoAndRedirect) {
  auto info = classify("/p/q/id.tif/info.json");
  ASSERT_TRUE(info);
  auto* i = std::get_if<InfoRequest>(&*info);
  ASSERT_NE(i, nullptr);
  EXPECT_EQ(i->ref.prefix, "p/q");
  EXPECT_EQ(i->ref.identifier, "id.tif");

  auto redir = classify("/p/id.tif");
  ASSERT_TRUE(redir);
  auto* d = std::get_if<RedirectRequest>(&*redir);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->ref.prefix, "p");
  EXPECT_EQ(d->ref.identifier, "id.tif");

  auto trailing = classify("/p/id.tif/");
  ASSERT_TRUE(trailing);
  EXPECT_TRUE(std::holds_alternative<RedirectRequest>(*trailing));
}

TEST(Classify, IdentifierNamedLikeQualityFormatRedirects) {
  for (const char* path : {"/gray.png", "/images/default.tif", "/a/b/c/color.jpg"}) {
    auto r = classify(path);
    ASSERT_TRUE(r) << path;
    EXPECT_TRUE(std::holds_alternative<RedirectRequest>(*r)) << path;
  }
  // Four segments after an identifier and a quality.format: a broken image request (as SIPI).
  for (const char* path : {"/a/b/c/d/color.jpg", "/id/nope/max/0/default.jpg", "/id/full/max/0/default"}) {
    auto r = classify(path);
    ASSERT_FALSE(r) << path;
    EXPECT_EQ(r.error().status, Status::bad_request) << path;
  }
  auto img = classify("/gray.png/full/max/0/default.jpg");
  ASSERT_TRUE(img);
  EXPECT_EQ(std::get<ImageRequest>(*img).ref.identifier, "gray.png");
}

TEST(Classify, FileRequest) {
  auto r = classify("/p/doc.pdf/file");
  ASSERT_TRUE(r);
  auto* f = std::get_if<FileRequest>(&*r);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->ref.prefix, "p");
  EXPECT_EQ(f->ref.identifier, "doc.pdf");
}

TEST(Classify, KnoraRequest) {
  auto r = classify("/0801/abc.jp2/knora.json");
  ASSERT_TRUE(r);
  auto* k = std::get_if<KnoraRequest>(&*r);
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->ref.identifier, "abc.jp2");
}

TEST(Classify, EncodedSlashIsDecodedOnce) {
  auto r = classify("/sub%2Fdir%2Fimg.tif/info.json");
  ASSERT_TRUE(r);
  auto& ref = std::get<InfoRequest>(*r).ref;
  EXPECT_EQ(ref.identifier, "sub/dir/img.tif");
  EXPECT_EQ(ref.raw_identifier, "sub%2Fdir%2Fimg.tif");
  EXPECT_EQ(base_path(ref), "/sub%2Fdir%2Fimg.tif");

  auto twice = classify("/a%252Fb.tif/info.json");
  ASSERT_TRUE(twice);
  EXPECT_EQ(std::get<InfoRequest>(*twice).ref.identifier, "a%2Fb.tif");
}

TEST(Classify, PageSelector) {
  auto r = classify("/doc.tif@3/full/max/0/default.jpg");
  ASSERT_TRUE(r);
  auto& ref = std::get<ImageRequest>(*r).ref;
  EXPECT_EQ(ref.identifier, "doc.tif");
  EXPECT_EQ(ref.page, 3);
  EXPECT_EQ(ref.raw_identifier, "doc.tif@3");

  auto plain = classify("/name@host.tif/info.json");  // not digits: part of the name
  ASSERT_TRUE(plain);
  EXPECT_EQ(std::get<InfoRequest>(*plain).ref.identifier, "name@host.tif");
  EXPECT_EQ(std::get<InfoRequest>(*plain).ref.page, 0);
}

struct Bad {
  const char* path;
  const char* detail;
};

class ClassifyInvalid : public ::testing::TestWithParam<Bad> {};

TEST_P(ClassifyInvalid, GivesBadRequest) {
  auto r = classify(GetParam().path);
  ASSERT_FALSE(r) << GetParam().path;
  EXPECT_EQ(r.error().status, Status::bad_request);
  EXPECT_EQ(r.error().detail, GetParam().detail) << GetParam().path;
}

INSTANTIATE_TEST_SUITE_P(
    Table, ClassifyInvalid,
    ::testing::Values(Bad{"", "iiif.path.syntax"}, Bad{"/", "iiif.path.empty"},
                      Bad{"relative/x", "iiif.path.syntax"},
                      Bad{"/a//b/info.json", "iiif.path.empty_segment"},
                      Bad{"/../etc/passwd", "iiif.path.traversal"},
                      Bad{"/%2e%2e/etc/passwd/info.json", "iiif.path.traversal"},
                      Bad{"/..%2Fetc%2Fpasswd/info.json", "iiif.path.traversal"},
                      Bad{"/a%2F..%2F..%2Fb/info.json", "iiif.path.traversal"},
                      Bad{"/a%00b/info.json", "iiif.path.encoding"},
                      Bad{"/a%zzb/info.json", "iiif.path.encoding"},
                      Bad{"/a%4/info.json", "iiif.path.encoding"},
                      Bad{"/./info.json", "iiif.path.traversal"},
                      Bad{"/id/full/max/default.jpg", "iiif.path.incomplete"},
                      Bad{"/id/full/max/0/default.bmp", "iiif.format.unsupported"},
                      Bad{"/id/full/max/0/default.bmp", "iiif.format.unsupported"},
                      Bad{"/id/full/max/0/default", "iiif.quality.syntax"},
                      Bad{"/id/full/max/0/native.jpg", "iiif.quality.syntax"},
                      Bad{"/id/full/max/0", "iiif.quality.syntax"},
                      Bad{"/id/bogus/max/0/default.jpg", "iiif.region.syntax"},
                      Bad{"/id/full/full/0/default.jpg", "iiif.size.syntax"},
                      Bad{"/id/full/max/-90/default.jpg", "iiif.rotation.syntax"},
                      Bad{"/id/full/max/400/default.jpg", "iiif.rotation.range"},
                      Bad{"/id@0/info.json", "iiif.identifier.page"}));

}  // namespace
}  // namespace sipi::iiif
