// The decisions http/ makes without a socket: which admission lane an image request takes,
// how a Range header is read, when a conditional request is answered 304.
#include <gtest/gtest.h>

#include <variant>

#include "http/file_response.h"
#include "http/respond.h"
#include "http/router.h"
#include "iiif/request.h"

using sipi::http::ByteRange;
using sipi::http::Lane;
using sipi::http::RangeParse;

namespace {

Lane lane_of(const char* path) {
  auto r = sipi::iiif::classify(path);
  EXPECT_TRUE(r) << path;
  return sipi::http::image_lane(std::get<sipi::iiif::ImageRequest>(*r));
}

sipi::http::RequestView with(const char* name, const char* value) {
  sipi::http::RequestView v;
  v.method = "GET";
  v.headers.emplace_back(name, value);
  return v;
}

}  // namespace

TEST(ImageLane, OutputsBoundedByTheUrlAreCheap) {
  EXPECT_EQ(lane_of("/a.tif/full/256,/0/default.jpg"), Lane::cheap);
  EXPECT_EQ(lane_of("/a.tif/full/,1024/0/default.jpg"), Lane::cheap);
  EXPECT_EQ(lane_of("/a.tif/full/!200,200/0/default.jpg"), Lane::cheap);
  EXPECT_EQ(lane_of("/a.tif/full/1024,1024/0/default.jpg"), Lane::cheap);
  // A small pixel region bounds the output whatever the size says, unless it upscales.
  EXPECT_EQ(lane_of("/a.tif/0,0,512,512/max/0/default.jpg"), Lane::cheap);
  EXPECT_EQ(lane_of("/a.tif/0,0,512,512/^2000,/0/default.jpg"), Lane::expensive);
}

TEST(ImageLane, UnboundedOrLargeOutputsAreExpensive) {
  EXPECT_EQ(lane_of("/a.tif/full/max/0/default.jpg"), Lane::expensive);
  EXPECT_EQ(lane_of("/a.tif/full/1025,/0/default.jpg"), Lane::expensive);
  EXPECT_EQ(lane_of("/a.tif/full/pct:5/0/default.jpg"), Lane::expensive);
  EXPECT_EQ(lane_of("/a.tif/full/!2000,100/0/default.jpg"), Lane::expensive);
  EXPECT_EQ(lane_of("/a.tif/pct:0,0,10,10/256,/0/default.jpg"), Lane::cheap);  // the size bounds it
  EXPECT_EQ(lane_of("/a.tif/square/max/0/default.jpg"), Lane::expensive);
}

TEST(ParseRange, TheThreeFormsAgainstTheSize) {
  ByteRange r;
  EXPECT_EQ(sipi::http::parse_range("bytes=0-9", 100, r), RangeParse::ok);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(r.last, 9u);
  EXPECT_EQ(sipi::http::parse_range("bytes=90-", 100, r), RangeParse::ok);
  EXPECT_EQ(r.first, 90u);
  EXPECT_EQ(r.last, 99u);
  EXPECT_EQ(sipi::http::parse_range("bytes=-10", 100, r), RangeParse::ok);
  EXPECT_EQ(r.first, 90u);
  EXPECT_EQ(r.last, 99u);
  // A last byte past the end is clamped; a suffix longer than the file is the whole file.
  EXPECT_EQ(sipi::http::parse_range("bytes=50-500", 100, r), RangeParse::ok);
  EXPECT_EQ(r.last, 99u);
  EXPECT_EQ(sipi::http::parse_range("bytes=-500", 100, r), RangeParse::ok);
  EXPECT_EQ(r.first, 0u);
}

TEST(ParseRange, UnsatisfiableAndIgnored) {
  ByteRange r;
  EXPECT_EQ(sipi::http::parse_range("bytes=100-", 100, r), RangeParse::unsatisfiable);
  EXPECT_EQ(sipi::http::parse_range("bytes=-0", 100, r), RangeParse::unsatisfiable);
  for (const char* h : {"", "bytes=5-1", "bytes=0-1,3-4", "bits=0-1", "bytes=", "bytes=-", "bytes=a-b",
                        "bytes=99999999999999999999-"}) {
    EXPECT_EQ(sipi::http::parse_range(h, 100, r), RangeParse::none) << h;
  }
}

TEST(NotModified, EntityTagsWinOverDates) {
  const std::string etag = "\"abc\"";
  EXPECT_TRUE(sipi::http::not_modified(with("if-none-match", "\"abc\""), etag, 1000));
  EXPECT_TRUE(sipi::http::not_modified(with("if-none-match", "\"x\", W/\"abc\""), etag, 1000));
  EXPECT_TRUE(sipi::http::not_modified(with("if-none-match", "*"), etag, 1000));
  EXPECT_FALSE(sipi::http::not_modified(with("if-none-match", "\"abd\""), etag, 1000));
  // 1000 s after the epoch is Thu, 01 Jan 1970 00:16:40 GMT.
  EXPECT_TRUE(sipi::http::not_modified(with("if-modified-since", "Thu, 01 Jan 1970 00:16:40 GMT"), etag, 1000));
  EXPECT_FALSE(sipi::http::not_modified(with("if-modified-since", "Thu, 01 Jan 1970 00:16:39 GMT"), etag, 1000));
  EXPECT_FALSE(sipi::http::not_modified(with("if-modified-since", "yesterday"), etag, 1000));
  EXPECT_FALSE(sipi::http::not_modified(sipi::http::RequestView{}, etag, 1000));
}
