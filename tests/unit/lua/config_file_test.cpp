#include "lua/config_file.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

namespace sipi::lua {
namespace {
namespace fs = std::filesystem;

class ConfigFileTest : public ::testing::Test {
 protected:
  fs::path write(const std::string& text) {
    fs::path p = fs::temp_directory_path() /
                 ("sipi-config-" + std::to_string(::getpid()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".lua");
    std::ofstream(p) << text;
    files_.push_back(p);
    return p;
  }
  void TearDown() override {
    for (auto& f : files_) fs::remove(f);
  }
  std::vector<fs::path> files_;
};

TEST_F(ConfigFileTest, ReadsSipiKeys) {
  auto p = write(R"(
sipi = { port = 1024, imgroot = './images', prefix_as_path = false, jpeg_quality = 60,
         scaling_quality = { jpeg = 'low', png = 'medium' }, nthreads = 3, cache_size = '100M',
         max_width = 5000, keep_alive = 5, ssl_port = 443 }
fileserver = { docroot = './server', wwwroute = '/server' }
)");
  Config c;
  auto r = load_config_file(p.string(), c);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(c.port, 1024);
  EXPECT_EQ(c.imgroot, "./images");
  EXPECT_FALSE(c.prefix_as_path);
  EXPECT_EQ(c.jpeg_quality, 60);
  EXPECT_EQ(c.scaling_quality.jpeg, ScalingQuality::low);
  EXPECT_EQ(c.scaling_quality.png, ScalingQuality::medium);
  EXPECT_EQ(c.scaling_quality.tiff, ScalingQuality::high);
  EXPECT_EQ(c.nthreads, 3);
  EXPECT_EQ(c.cache_size, "100M");
  EXPECT_EQ(c.max_width, 5000);
  EXPECT_EQ(c.docroot, "./server");
  EXPECT_EQ(c.wwwroute, "/server");
}

TEST_F(ConfigFileTest, WrongTypeNamesTheKey) {
  Config c;
  auto r = load_config_file(write("sipi = { port = 'abc' }").string(), c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("sipi.port"), std::string::npos) << r.error().message;
  r = load_config_file(write("sipi = { prefix_as_path = 1 }").string(), c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("sipi.prefix_as_path"), std::string::npos);
  r = load_config_file(write("sipi = { scaling_quality = { jpeg = 'best' } }").string(), c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("sipi.scaling_quality.jpeg"), std::string::npos);
  r = load_config_file(write("sipi = { port = 99999999999 }").string(), c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("sipi.port"), std::string::npos);
}

TEST_F(ConfigFileTest, SyntaxErrorNamesFileAndLine) {
  Config c;
  auto p = write("sipi = {\n port = 1024,\n imgroot = \n}\n");
  auto r = load_config_file(p.string(), c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(p.filename().string()), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find(":4:"), std::string::npos) << r.error().message;
}

TEST_F(ConfigFileTest, MissingSipiTable) {
  Config c;
  auto r = load_config_file(write("x = 1").string(), c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("sipi"), std::string::npos);
}

TEST_F(ConfigFileTest, SandboxHasNoIo) {
  Config c;
  auto r = load_config_file(write("io.open('/etc/passwd')\nsipi = {}").string(), c);
  ASSERT_FALSE(r);
  r = load_config_file(write("os.execute('true')\nsipi = {}").string(), c);
  ASSERT_FALSE(r);
  r = load_config_file(write("sipi = { imgroot = os.getenv('HOME') or '.' }").string(), c);
  ASSERT_TRUE(r) << r.error().message;
}

TEST_F(ConfigFileTest, MissingFile) {
  Config c;
  auto r = load_config_file("/nonexistent/sipi.lua", c);
  ASSERT_FALSE(r);
}

}  // namespace
}  // namespace sipi::lua

namespace sipi::lua {
namespace {

// Found by fuzz/fuzz_config (reproducers in fuzz/crashes/).
TEST_F(ConfigFileTest, HugeFloatsAreOutOfRangeNotUndefined) {
  for (const char* v : {"1e20", "2^63", "-1e300", "0/0", "1/0"}) {
    Config c;
    auto r = load_config_file(write(std::string("sipi = { port = ") + v + " }").string(), c);
    ASSERT_FALSE(r) << v;
    EXPECT_NE(r.error().message.find("sipi.port"), std::string::npos) << r.error().message;
  }
}

TEST_F(ConfigFileTest, EndlessConfigScriptIsStopped) {
  Config c;
  auto start = std::chrono::steady_clock::now();
  auto r = load_config_file(write("sipi = { imgroot = '/tmp' }\nwhile true do end\n").string(), c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("longer than 5 s"), std::string::npos) << r.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST_F(ConfigFileTest, MetatablesThatRaiseDoNotCrashTheReader) {
  Config c;
  auto r = load_config_file(write(R"(
setmetatable(_G, { __index = function(_, k) error("no global " .. k) end })
sipi = setmetatable({ imgroot = '/tmp', scaling_quality = setmetatable({}, { __index = function() error("x") end }) },
                    { __index = function() error("y") end })
)").string(), c);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(c.imgroot, "/tmp");
}

}  // namespace
}  // namespace sipi::lua

namespace sipi::lua {
namespace {

// fuzz/corpus/fuzz_config/regress-max-width-overflow.lua: max_width = 22222222222222221 was
// accepted and overflowed int64 in iiif::fit_limits. Every number now has an upper bound.
TEST_F(ConfigFileTest, NumbersBeyondWhatTheArithmeticCarriesAreRefused) {
  struct Case { const char* key; const char* bad; const char* good; };
  for (Case k : {Case{"max_width", "22222222222222221", "10000000"}, Case{"max_height", "10000001", "1"},
                 Case{"max_area", "100000000000001", "100000000000000"}, Case{"header_timeout", "86401", "86400"},
                 Case{"max_url_length", "1048577", "1048576"}, Case{"decode_cpu_seconds", "0", "1"},
                 Case{"max_waiting", "1000001", "1000000"}}) {
    for (bool good : {false, true}) {
      Config c;
      auto r = load_config_file(
          write(std::string("sipi = { imgroot = '/tmp', ") + k.key + " = " + (good ? k.good : k.bad) + " }").string(), c);
      ASSERT_TRUE(r) << r.error().message;
      auto v = c.validate();
      EXPECT_EQ(static_cast<bool>(v), good) << k.key << " = " << (good ? k.good : k.bad);
      if (!good && !v) {
        EXPECT_NE(v.error().message.find(k.key), std::string::npos) << v.error().message;
      }
    }
  }
}

TEST_F(ConfigFileTest, DecodeIsolationIsAllOrNone) {
  for (const char* v : {"all", "none", "some"}) {
    Config c;
    auto r = load_config_file(write(std::string("sipi = { imgroot = '/tmp', decode_isolation = '") + v + "' }").string(), c);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(static_cast<bool>(c.validate()), std::string(v) != "some") << v;
  }
  Config defaults;
  EXPECT_EQ(defaults.decode_isolation, "all");
}

}  // namespace
}  // namespace sipi::lua
