// The log store's writer: captured pipes spliced into size-rotated files by one thread.
//
// Files of one stream, for a base path B (made at the stream's first byte, not before):
// `B.log` (being written), `B.log.1` … older;
// `B.idx` / `B.idx.N` next to each: fixed 24-byte records (wallMs i64, offset u64, seq u64)
// in native byte order. `offset` counts every byte the stream ever received (it goes on
// across rotation and restarts), so a file's first record gives the offset of its first
// byte; `seq` orders chunks across all streams of one writer (arrival order).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "shipote.h"

namespace shipote {

class LogWriter;

struct LogNote {
  uint32_t id;
  uint64_t bytes;       // the stream's offset after the last write
  uint64_t startBytes;  // the stream's offset when the pipe was added
  bool eof;
};

// `wake(arg)` is called from the writer thread when notes are waiting (coalesce it).
LogWriter* logWriterStart(void (*wake)(void*), void* arg, SysError* error);
void logWriterStop(LogWriter* w);  // joins the thread, closes every fd

// Takes ownership of `fd` (a pipe read end), also on failure. Returns an id, 0 on error.
uint32_t logWriterAdd(LogWriter* w, int fd, const std::string& base, uint64_t maxBytes,
                      uint32_t keep, SysError* error);
enum class LogMetaFate {
  kKept = 0,      // the writer thread writes it just before the key's first file
  kHasFiles = 1,  // a stream of the key has (or is creating) files: the caller writes it
  kNoStream = 2,  // no stream of the key is open: the caller writes it if `dir` exists
};
// The text of `<dir>/meta.json`, for the streams `<dir>/stdout` and `<dir>/stderr`.
LogMetaFate logWriterMeta(LogWriter* w, const std::string& dir, const std::string& text);
// Stops capturing (closes the pipe and the files).
void logWriterRemove(LogWriter* w, uint32_t id);
// A watched stream reports every write (followers); EOF is always reported.
void logWriterWatch(LogWriter* w, uint32_t id, bool on);
std::vector<LogNote> logWriterTake(LogWriter* w);
// The stream's offset; -1 when the id is unknown (ended or removed).
int64_t logWriterBytes(LogWriter* w, uint32_t id);
// The stream's offset when the pipe `id` was added: bytes before it are not its own. Known
// until the pipe's EOF note is taken; -1 after.
int64_t logWriterStartBytes(LogWriter* w, uint32_t id);

}  // namespace shipote
