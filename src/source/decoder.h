// Decoders: one per source format, each a header-only probe and a level loader.
// libvips types appear here because source/ and pipeline/ share the pixel representation.
#pragma once

#include <filesystem>
#include <vips/vips8>

#include "core/result.h"
#include "source/shape.h"

namespace sipi::source {

// Reads the file's magic bytes. Errors: 404 source.unsupported_format (not an image format
// sipi reads), 404 source.not_found (unreadable).
Result<SourceFormat> sniff(const std::filesystem::path& path);

// Geometry and levels from headers only. `page` is 0 (default) or 1-based from "id@N".
// Errors: 404 source.page_not_found, 500 codec.header (a file that claims a format but whose
// header is broken).
Result<ImageShape> probe(const std::filesystem::path& path, int page);

// The level that is exactly 1/2^n of full resolution (±1 px of rounding), or 0 when the source
// stores no such level (the caller then scales).
std::size_t reduce_level(const ImageShape& shape, int n);

// A lazily-decoded image of one level: pixels are decoded only as a later crop asks for them.
// `sequential` suits pipelines that read the whole level top to bottom. Errors: 500 codec.*.
Result<vips::VImage> load_level(const std::filesystem::path& path, const ImageShape& shape,
                                std::size_t level, bool sequential);

// --- per codec, in tiff.cpp, jp2.cpp, jpeg.cpp, simple.cpp ---
Result<ImageShape> probe_tiff(const std::filesystem::path& path, int page);
Result<ImageShape> probe_jp2(const std::filesystem::path& path);
Result<ImageShape> probe_jpeg(const std::filesystem::path& path);
Result<ImageShape> probe_single_level(const std::filesystem::path& path, SourceFormat f);

vips::VImage load_tiff(const std::filesystem::path& path, const Level& l, bool sequential);
vips::VImage load_jp2(const std::filesystem::path& path, const Level& l, const std::string& icc, bool cmyk);
vips::VImage load_jpeg(const std::filesystem::path& path, const Level& l, bool sequential);
vips::VImage load_single_level(const std::filesystem::path& path, SourceFormat f, bool sequential);

// Installs quiet libtiff handlers (libtiff otherwise prints to stderr from any thread).
void init_codecs();

}  // namespace sipi::source
