// A ZIP archive (PKWARE's APPNOTE.TXT) written into a string, each entry
// deflated by zlib as its bytes arrive: what an .xlsx file is made of.
//
// Only what an .xlsx needs: deflated entries (method 8), a fixed timestamp
// (1980-01-01, so an export of the same books is byte-identical), no
// encryption, no data descriptors (the sizes and CRC-32 are patched into the
// local header once the entry is done, since the whole archive is in memory)
// and no zip64: an archive, an entry or an offset past 4 GiB - 1, or more than
// 65,535 entries, is refused with an error instead of writing a broken file.
//
// Use: begin(name), write(bytes)..., end(), ..., finish(). Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <zlib.h>

#include "ledger/status.h"

namespace sunledger {

class ZipWriter {
 public:
  // The largest size or offset the plain (non-zip64) format can hold; a test
  // passes a small limit to see the refusal without writing 4 GiB.
  static constexpr uint64_t kZip32Limit = 0xFFFFFFFFu;

  // level: zlib's 0-9; Z_BEST_SPEED (1) is what the exports use.
  explicit ZipWriter(int level = Z_BEST_SPEED, uint64_t limit = kZip32Limit);
  ~ZipWriter();
  ZipWriter(const ZipWriter&) = delete;
  ZipWriter& operator=(const ZipWriter&) = delete;

  [[nodiscard]] Status begin(std::string_view name);
  [[nodiscard]] Status write(std::string_view bytes);
  [[nodiscard]] Status end();
  // The central directory and end record; the archive is moved out.
  [[nodiscard]] Result<std::string> finish();

 private:
  struct Entry {
    std::string name;
    uint32_t crc = 0;
    uint64_t compressed = 0, size = 0, offset = 0;
  };
  Status deflate_into_output(std::string_view bytes, int flush);
  Status fail(Status s);

  int level_;
  uint64_t limit_;
  std::string out_;
  std::vector<Entry> entries_;
  z_stream z_{};
  bool z_ready_ = false;  // deflateInit2 succeeded (deflateEnd is owed)
  bool open_ = false;     // between begin() and end()
  Status error_;          // the first failure; every later call returns it
};

}  // namespace sunledger
