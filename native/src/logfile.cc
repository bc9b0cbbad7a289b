// The log store's writer thread (see logfile.h for the file layout).
//
// One thread, one epoll set over every capture pipe. A readable pipe is spliced into its
// stream's file (splice(2): the bytes never cross into userspace, let alone JavaScript);
// before a chunk lands, a 24-byte index record stamps its first byte with the wall time,
// unless the previous chunk of the whole writer went to the same stream in the same ms.
// A file that reaches max_bytes is rotated (B.log → B.log.1 …, `keep` files in all).
// Pipes for the same base share one open stream (a restarted command's new pipe while the
// old one still drains, a forked child that kept the old pipe): one writer per file.
// Files are created lazily, by this thread, when a stream's first byte arrives: creating a
// file costs the kernel about a millisecond, which a spawn must not pay on the event loop,
// and a process that prints nothing leaves no file. The key's directory and its meta.json
// (given by logWriterMeta before or after the add) are made at the same moment, meta.json
// first, so no stream has files without it.

#include "logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace shipote {

namespace {
constexpr size_t kSpliceBytesMax = 1 << 20;
constexpr size_t kTurnBytesMax = 4 << 20;  // per stream per wakeup: fair to the others
constexpr int kPipeBytes = 1 << 20;       // capture pipes grow to this (best effort)

struct Record {
  int64_t wallMs;
  uint64_t offset;
  uint64_t seq;
};
static_assert(sizeof(Record) == 24, "index records are 24 bytes");

int64_t wallMsNow() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

std::string nth(const std::string& path, uint32_t n) {
  return n == 0 ? path : path + "." + std::to_string(n);
}

// Unlinking a file whose pages are still being written back can wait for the writeback:
// the oldest file is renamed aside at once and unlinked by a short-lived thread, so the
// capture never stalls on it.
// Returns false when `path` is absent.
bool discard(const std::string& path) {
  static std::atomic<uint64_t> seq{0};
  std::string aside = path + ".deleting-" + std::to_string(getpid()) + "-" +
                      std::to_string(seq.fetch_add(1, std::memory_order_relaxed));
  if (rename(path.c_str(), aside.c_str()) != 0) return false;
  std::thread([aside] { unlink(aside.c_str()); }).detach();
  return true;
}

std::string dirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

// mkdir -p (0700). Existing components are fine; errors show when the file is opened.
void makeDirs(const std::string& dir) {
  for (size_t at = dir.find('/', 1); at != std::string::npos; at = dir.find('/', at + 1)) {
    mkdir(dir.substr(0, at).c_str(), 0700);
  }
  mkdir(dir.c_str(), 0700);
}

// Whole file, best effort (like the JS writer it replaces: the logs are still read by key).
void writeWhole(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return;
  ssize_t ignored = write(fd, text.data(), text.size());
  (void)ignored;
  close(fd);
}
}  // namespace

struct Sink {
  uint32_t serial = 0;
  int file = -1;
  int index = -1;
  std::string base;
  uint64_t maxBytes = 0;
  uint32_t keep = 1;
  uint64_t size = 0;  // of the current file
  loff_t fileOff = 0;
  std::atomic<uint64_t> offset{0};
  int64_t lastRecordMs = -1;
  uint64_t lastSeq = 0;
  bool broken = false;  // the file cannot be written: the bytes are discarded
  bool opened = false;  // the files exist (writer thread only)
  // Guarded by the writer's mutex_: the files are being or were created; meta.json text
  // to write first (empty: none given, or a sibling stream wrote it).
  bool materialized = false;
  std::string meta;

  ~Sink() {
    for (int fd : {file, index}) {
      if (fd >= 0) close(fd);
    }
  }

  std::string logPath(uint32_t n) const { return nth(base + ".log", n); }
  std::string indexPath(uint32_t n) const { return nth(base + ".idx", n); }

  void record(int64_t wallMs, uint64_t seq) {
    Record r{wallMs, offset.load(std::memory_order_relaxed), seq};
    ssize_t ignored = write(index, &r, sizeof r);
    (void)ignored;
    lastRecordMs = wallMs;
    lastSeq = seq;
  }

  // Opens B.log (appending to what a previous incarnation left) and B.idx.
  bool open(SysError* error, uint64_t seq) {
    file = ::open(logPath(0).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (file < 0) return fail(error, "open");
    index = ::open(indexPath(0).c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (index < 0) return fail(error, "open");
    struct stat st;
    if (fstat(file, &st) < 0) return fail(error, "fstat");
    size = static_cast<uint64_t>(st.st_size);
    fileOff = static_cast<loff_t>(size);
    struct stat ist;
    if (fstat(index, &ist) < 0) return fail(error, "fstat");
    uint64_t whole = static_cast<uint64_t>(ist.st_size) / sizeof(Record) * sizeof(Record);
    if (whole != static_cast<uint64_t>(ist.st_size)) {
      if (ftruncate(index, static_cast<off_t>(whole)) < 0) return fail(error, "ftruncate");
    }
    Record first{0, 0, 0};
    if (whole > 0 && pread(index, &first, sizeof first, 0) == sizeof first) {
      offset.store(first.offset + size, std::memory_order_relaxed);
    } else {
      offset.store(size, std::memory_order_relaxed);
      Record r{wallMsNow(), 0, seq};
      if (write(index, &r, sizeof r) != sizeof r) return fail(error, "write");
    }
    return true;
  }

  // The stream's offset from what earlier incarnations left, without creating anything
  // (the files are opened, or created, at the first byte).
  void probe() {
    struct stat st;
    if (stat(logPath(0).c_str(), &st) != 0) return;  // no file: offset 0
    uint64_t bytes = static_cast<uint64_t>(st.st_size);
    Record first{0, 0, 0};
    int fd = ::open(indexPath(0).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && pread(fd, &first, sizeof first, 0) == sizeof first) bytes += first.offset;
    if (fd >= 0) close(fd);
    offset.store(bytes, std::memory_order_relaxed);
  }

  static bool fail(SysError* error, const char* syscall) {
    *error = SysError{errno, syscall};
    return false;
  }

  // B.log → B.log.1 → … (the oldest beyond `keep` goes), then a fresh B.log whose first
  // record carries on the last chunk's time (a chunk may straddle the boundary).
  void rotate() {
    close(file);
    close(index);
    file = index = -1;
    // The oldest kept file goes, and any beyond it: files an earlier incarnation kept
    // with a larger `keep` (the daemon's default changed) leave exactly `keep` files.
    for (uint32_t n = keep - 1;; n++) {
      bool log = discard(logPath(n));
      bool idx = discard(indexPath(n));
      if (!log && !idx && n >= keep) break;
    }
    for (uint32_t n = keep - 1; n >= 1; n--) {
      rename(logPath(n - 1).c_str(), logPath(n).c_str());
      rename(indexPath(n - 1).c_str(), indexPath(n).c_str());
    }
    file = ::open(logPath(0).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    index = ::open(indexPath(0).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
                   0600);
    size = 0;
    fileOff = 0;
    if (file < 0 || index < 0) {
      broken = true;
      return;
    }
    record(lastRecordMs < 0 ? wallMsNow() : lastRecordMs, lastSeq);
  }
};

// One capture pipe feeding a sink (the JS side's id).
struct Input {
  uint32_t id = 0;
  uint64_t startOffset = 0;  // the stream's offset when this pipe was added
  int pipe = -1;
  std::shared_ptr<Sink> sink;
  std::atomic<bool> watched{false};

  ~Input() {
    if (pipe >= 0) close(pipe);
  }
};

class LogWriter {
 public:
  LogWriter(void (*wake)(void*), void* arg) : wake_(wake), wakeArg_(arg) {}

  ~LogWriter() {
    for (int fd : {epoll_, stopFd_, devNull_}) {
      if (fd >= 0) close(fd);
    }
  }

  bool init(SysError* error) {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    stopFd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    devNull_ = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (epoll_ < 0 || stopFd_ < 0 || devNull_ < 0) return Sink::fail(error, "epoll_create1");
    struct epoll_event ev = {};
    ev.events = EPOLLIN;
    ev.data.u32 = 0;
    if (epoll_ctl(epoll_, EPOLL_CTL_ADD, stopFd_, &ev) < 0) return Sink::fail(error, "epoll_ctl");
    thread_ = std::thread([this] { run(); });
    return true;
  }

  void stop() {
    uint64_t one = 1;
    ssize_t ignored = write(stopFd_, &one, sizeof one);
    (void)ignored;
    if (thread_.joinable()) thread_.join();
    std::lock_guard<std::mutex> lock(mutex_);
    inputs_.clear();
    sinks_.clear();
  }

  uint32_t add(int fd, const std::string& base, uint64_t maxBytes, uint32_t keep,
               SysError* error) {
    auto input = std::make_shared<Input>();
    input->pipe = fd;
    std::lock_guard<std::mutex> lock(mutex_);
    auto open = sinks_.find(base);
    input->sink = open == sinks_.end() ? nullptr : open->second.lock();
    if (!input->sink) {
      auto sink = std::make_shared<Sink>();
      sink->base = base;
      sink->maxBytes = std::max<uint64_t>(maxBytes, 1);
      sink->keep = std::max<uint32_t>(keep, 1);
      sink->serial = ++lastSerial_;
      sink->probe();  // the files themselves wait for the first byte (materialize)
      input->sink = sink;
      sinks_[base] = sink;
    }
    fcntl(fd, F_SETPIPE_SZ, kPipeBytes);  // best effort: fewer, larger chunks
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    input->id = ++lastId_;
    input->startOffset = input->sink->offset.load(std::memory_order_relaxed);
    struct epoll_event ev = {};
    ev.events = EPOLLIN;
    ev.data.u32 = input->id;
    if (epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) < 0) {
      Sink::fail(error, "epoll_ctl");
      return 0;
    }
    inputs_[input->id] = input;
    return input->id;
  }

  void remove(uint32_t id) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = inputs_.find(id);
    if (it == inputs_.end()) return;
    epoll_ctl(epoll_, EPOLL_CTL_DEL, it->second->pipe, nullptr);
    std::string base = it->second->sink->base;
    inputs_.erase(it);  // the pipe (and, with its last input, the sink) close with the last ref
    auto open = sinks_.find(base);
    if (open != sinks_.end() && open->second.expired()) sinks_.erase(open);
  }

  // Sets the meta.json text of the key directory `dir` for its streams that have no files
  // yet (see LogMetaFate).
  LogMetaFate meta(const std::string& dir, const std::string& text) {
    std::lock_guard<std::mutex> lock(mutex_);
    LogMetaFate fate = LogMetaFate::kNoStream;
    for (const char* stream : {"/stdout", "/stderr"}) {
      auto open = sinks_.find(dir + stream);
      std::shared_ptr<Sink> sink = open == sinks_.end() ? nullptr : open->second.lock();
      if (!sink) continue;
      if (sink->materialized) return LogMetaFate::kHasFiles;
      sink->meta = text;
      fate = LogMetaFate::kKept;
    }
    return fate;
  }

  void watch(uint32_t id, bool on) {
    std::shared_ptr<Input> input = find(id);
    if (input) input->watched.store(on, std::memory_order_relaxed);
  }

  int64_t bytes(uint32_t id) {
    std::shared_ptr<Input> input = find(id);
    if (!input) return -1;
    return static_cast<int64_t>(input->sink->offset.load(std::memory_order_relaxed));
  }

  // Also once the pipe is gone, until its EOF note is taken (the JS side asks in the tick it
  // added the pipe, and takes notes only in a later one).
  int64_t startBytes(uint32_t id) {
    std::shared_ptr<Input> input = find(id);
    if (input) return static_cast<int64_t>(input->startOffset);
    std::lock_guard<std::mutex> lock(notesMutex_);
    auto it = notes_.find(id);
    return it == notes_.end() ? -1 : static_cast<int64_t>(it->second.startBytes);
  }

  std::vector<LogNote> take() {
    std::lock_guard<std::mutex> lock(notesMutex_);
    std::vector<LogNote> out;
    for (const auto& n : notes_) out.push_back(n.second);
    notes_.clear();
    return out;
  }

 private:
  std::shared_ptr<Input> find(uint32_t id) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = inputs_.find(id);
    return it == inputs_.end() ? nullptr : it->second;
  }

  void note(const Input& in, bool eof) {
    bool first;
    {
      std::lock_guard<std::mutex> lock(notesMutex_);
      first = notes_.empty();
      uint64_t bytes = in.sink->offset.load(std::memory_order_relaxed);
      notes_[in.id] = LogNote{in.id, bytes, in.startOffset, eof};
    }
    if (first) wake_(wakeArg_);
  }

  // The first byte is waiting: the directory, meta.json (once per key: the sibling stream's
  // copy is dropped), then the stream's files. Files that cannot be opened (a full or
  // read-only disk): the bytes are drained and dropped, so the child is not blocked or
  // killed by SIGPIPE for want of a log.
  void materialize(Sink& s) {
    std::string text;
    std::string dir = dirOf(s.base);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      s.materialized = true;
      text.swap(s.meta);
      for (const char* stream : {"/stdout", "/stderr"}) {
        auto open = sinks_.find(dir + stream);
        std::shared_ptr<Sink> sibling = open == sinks_.end() ? nullptr : open->second.lock();
        if (sibling && !text.empty()) sibling->meta.clear();
      }
    }
    s.opened = true;
    struct stat st;
    if (stat(dir.c_str(), &st) != 0) makeDirs(dir);
    if (!text.empty()) writeWhole(dir + "/meta.json", text);
    SysError ignored;
    if (!s.open(&ignored, 0)) s.broken = true;
  }

  // Moves what the pipe holds into the file. Returns false at EOF (`hup`: the write ends
  // are all closed, so an empty pipe is the end).
  bool service(Input& in, bool hup) {
    Sink& s = *in.sink;
    if (!s.opened) {
      int waiting = 0;
      if (ioctl(in.pipe, FIONREAD, &waiting) == 0 && waiting == 0) return !hup;
      materialize(s);
    }
    size_t moved = 0;
    while (moved < kTurnBytesMax) {
      if (!s.broken && s.size >= s.maxBytes) s.rotate();
      int64_t now = wallMsNow();
      if (!s.broken && (now != s.lastRecordMs || lastSink_ != s.serial)) s.record(now, ++seq_);
      lastSink_ = s.serial;
      size_t room = s.broken ? kSpliceBytesMax : std::min(kSpliceBytesMax, s.maxBytes - s.size);
      ssize_t r = s.broken ? splice(in.pipe, nullptr, devNull_, nullptr, room,
                                    SPLICE_F_MOVE | SPLICE_F_NONBLOCK)
                           : splice(in.pipe, nullptr, s.file, &s.fileOff, room,
                                    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (r > 0) {
        moved += static_cast<size_t>(r);
        if (!s.broken) s.size += static_cast<uint64_t>(r);
        s.offset.fetch_add(static_cast<uint64_t>(r), std::memory_order_relaxed);
        continue;
      }
      if (r == 0) return false;
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      if (s.broken) return false;  // the pipe itself failed
      s.broken = true;             // ENOSPC, EIO…: keep the child unblocked
    }
    if (moved > 0 && in.watched.load(std::memory_order_relaxed)) note(in, false);
    return true;
  }

  void run() {
    struct epoll_event events[64];
    for (;;) {
      int n = epoll_wait(epoll_, events, 64, -1);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return;
      for (int i = 0; i < n; i++) {
        uint32_t id = events[i].data.u32;
        if (id == 0) return;  // stop
        std::shared_ptr<Input> input = find(id);
        bool hup = (events[i].events & (EPOLLHUP | EPOLLERR)) != 0;
        if (!input || service(*input, hup)) continue;
        note(*input, true);
        remove(id);
      }
    }
  }

  void (*wake_)(void*);
  void* wakeArg_;
  int epoll_ = -1;
  int stopFd_ = -1;
  int devNull_ = -1;
  uint32_t lastId_ = 0;
  uint32_t lastSerial_ = 0;
  uint32_t lastSink_ = 0;
  uint64_t seq_ = 0;
  std::mutex mutex_;  // inputs_, sinks_
  std::map<uint32_t, std::shared_ptr<Input>> inputs_;
  std::map<std::string, std::weak_ptr<Sink>> sinks_;  // open streams by base path
  std::mutex notesMutex_;
  std::map<uint32_t, LogNote> notes_;
  std::thread thread_;
};

LogWriter* logWriterStart(void (*wake)(void*), void* arg, SysError* error) {
  std::unique_ptr<LogWriter> w(new LogWriter(wake, arg));
  if (!w->init(error)) return nullptr;
  return w.release();
}

void logWriterStop(LogWriter* w) {
  w->stop();
  delete w;
}

uint32_t logWriterAdd(LogWriter* w, int fd, const std::string& base, uint64_t maxBytes,
                      uint32_t keep, SysError* error) {
  return w->add(fd, base, maxBytes, keep, error);  // on failure the input closed `fd`
}

LogMetaFate logWriterMeta(LogWriter* w, const std::string& dir, const std::string& text) {
  return w->meta(dir, text);
}
void logWriterRemove(LogWriter* w, uint32_t id) { w->remove(id); }
void logWriterWatch(LogWriter* w, uint32_t id, bool on) { w->watch(id, on); }
std::vector<LogNote> logWriterTake(LogWriter* w) { return w->take(); }
int64_t logWriterBytes(LogWriter* w, uint32_t id) { return w->bytes(id); }
int64_t logWriterStartBytes(LogWriter* w, uint32_t id) { return w->startBytes(id); }

}  // namespace shipote
