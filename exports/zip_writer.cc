// The ZIP container of the .xlsx export; see zip_writer.h. Field layouts are
// APPNOTE.TXT sections 4.3.7 (local file header), 4.3.12 (central directory
// header) and 4.3.16 (end of central directory record); all little-endian.
#include "exports/zip_writer.h"

#include <algorithm>

namespace sunledger {

namespace {

constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kEndRecord = 0x06054b50;
constexpr uint16_t kVersion = 20;     // 2.0: deflate
constexpr uint16_t kUtf8Names = 1u << 11;  // general purpose bit 11: names are UTF-8
constexpr uint16_t kDeflate = 8;
constexpr uint16_t kDosTime = 0;               // 00:00:00
constexpr uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01, DOS's epoch
constexpr size_t kLocalHeaderSize = 30;

void put16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v & 0xFF));
  s.push_back(static_cast<char>(v >> 8));
}
void put32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void patch32(std::string& s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + static_cast<size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

}  // namespace

ZipWriter::ZipWriter(int level, uint64_t limit) : level_(level), limit_(limit) {}

ZipWriter::~ZipWriter() {
  if (z_ready_) deflateEnd(&z_);
}

Status ZipWriter::fail(Status s) {
  if (error_.is_ok()) error_ = s;
  return s;
}

Status ZipWriter::begin(std::string_view name) {
  if (!error_.is_ok()) return error_;
  if (open_) return fail(internal_error("zip: begin() while an entry is open"));
  if (name.empty() || name.size() > 0xFFFF) return fail(invalid_argument("zip: bad entry name"));
  if (entries_.size() >= 0xFFFF) return fail(failed_precondition("zip: more than 65,535 entries needs zip64"));
  if (!z_ready_) {
    // Raw deflate (negative window bits): ZIP stores no zlib header or trailer.
    if (deflateInit2(&z_, level_, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      return fail(internal_error("zip: deflateInit2 failed"));
    z_ready_ = true;
  } else if (deflateReset(&z_) != Z_OK) {
    return fail(internal_error("zip: deflateReset failed"));
  }
  Entry e;
  e.name = std::string(name);
  e.offset = out_.size();
  if (e.offset > limit_) return fail(failed_precondition("zip: archive past 4 GiB needs zip64"));
  // The CRC and sizes (offsets 14, 18, 22) are zero until end() patches them.
  put32(out_, kLocalHeader);
  put16(out_, kVersion);
  put16(out_, kUtf8Names);
  put16(out_, kDeflate);
  put16(out_, kDosTime);
  put16(out_, kDosDate);
  put32(out_, 0);
  put32(out_, 0);
  put32(out_, 0);
  put16(out_, static_cast<uint16_t>(name.size()));
  put16(out_, 0);  // no extra field
  out_.append(name);
  entries_.push_back(std::move(e));
  open_ = true;
  return Status::ok();
}

Status ZipWriter::deflate_into_output(std::string_view bytes, int flush) {
  z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z_.avail_in = static_cast<uInt>(bytes.size());
  // Deflate straight into the archive string: grow it by a bound, let zlib
  // fill, then cut it back to what zlib wrote.
  for (;;) {
    size_t room = deflateBound(&z_, z_.avail_in) + 64;
    size_t used = out_.size();
    out_.resize(used + room);
    z_.next_out = reinterpret_cast<Bytef*>(out_.data() + used);
    z_.avail_out = static_cast<uInt>(room);
    int rc = deflate(&z_, flush);
    out_.resize(used + (room - z_.avail_out));
    if (rc == Z_STREAM_ERROR) return fail(internal_error("zip: deflate failed"));
    if (flush == Z_FINISH ? rc == Z_STREAM_END : z_.avail_in == 0) break;
  }
  if (out_.size() > limit_) return fail(failed_precondition("zip: archive past 4 GiB needs zip64"));
  return Status::ok();
}

Status ZipWriter::write(std::string_view bytes) {
  if (!error_.is_ok()) return error_;
  if (!open_) return fail(internal_error("zip: write() outside an entry"));
  Entry& e = entries_.back();
  e.size += bytes.size();
  if (e.size > limit_) return fail(failed_precondition("zip: entry past 4 GiB needs zip64"));
  // crc32 takes a uInt length: feed it in pieces so a huge write is whole.
  for (size_t at = 0; at < bytes.size(); at += 1u << 30) {
    size_t n = std::min(bytes.size() - at, size_t{1} << 30);
    e.crc = static_cast<uint32_t>(crc32(e.crc, reinterpret_cast<const Bytef*>(bytes.data() + at), static_cast<uInt>(n)));
    Status s = deflate_into_output(bytes.substr(at, n), Z_NO_FLUSH);
    if (!s.is_ok()) return s;
  }
  return Status::ok();
}

Status ZipWriter::end() {
  if (!error_.is_ok()) return error_;
  if (!open_) return fail(internal_error("zip: end() outside an entry"));
  Status s = deflate_into_output({}, Z_FINISH);
  if (!s.is_ok()) return s;
  Entry& e = entries_.back();
  size_t data_at = e.offset + kLocalHeaderSize + e.name.size();
  e.compressed = out_.size() - data_at;
  patch32(out_, e.offset + 14, e.crc);
  patch32(out_, e.offset + 18, static_cast<uint32_t>(e.compressed));
  patch32(out_, e.offset + 22, static_cast<uint32_t>(e.size));
  open_ = false;
  return Status::ok();
}

Result<std::string> ZipWriter::finish() {
  if (!error_.is_ok()) return error_;
  if (open_) return fail(internal_error("zip: finish() while an entry is open"));
  uint64_t directory_at = out_.size();
  for (const Entry& e : entries_) {
    put32(out_, kCentralHeader);
    put16(out_, kVersion);  // made by: 2.0, MS-DOS attributes
    put16(out_, kVersion);  // needed to extract
    put16(out_, kUtf8Names);
    put16(out_, kDeflate);
    put16(out_, kDosTime);
    put16(out_, kDosDate);
    put32(out_, e.crc);
    put32(out_, static_cast<uint32_t>(e.compressed));
    put32(out_, static_cast<uint32_t>(e.size));
    put16(out_, static_cast<uint16_t>(e.name.size()));
    put16(out_, 0);  // extra field
    put16(out_, 0);  // comment
    put16(out_, 0);  // disk number
    put16(out_, 0);  // internal attributes
    put32(out_, 0);  // external attributes
    put32(out_, static_cast<uint32_t>(e.offset));
    out_.append(e.name);
  }
  uint64_t directory_size = out_.size() - directory_at;
  if (directory_at > limit_ || directory_size > limit_) return fail(failed_precondition("zip: archive past 4 GiB needs zip64"));
  put32(out_, kEndRecord);
  put16(out_, 0);  // this disk
  put16(out_, 0);  // the disk with the directory
  put16(out_, static_cast<uint16_t>(entries_.size()));
  put16(out_, static_cast<uint16_t>(entries_.size()));
  put32(out_, static_cast<uint32_t>(directory_size));
  put32(out_, static_cast<uint32_t>(directory_at));
  put16(out_, 0);  // no comment
  entries_.clear();
  return std::move(out_);
}

}  // namespace sunledger
