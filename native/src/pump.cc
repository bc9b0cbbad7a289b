// The data-plane pump: one thread per pumped output (or fan-in group).
//
// Every byte read from any source goes to every live sink, exactly once and in order,
// without copying through userspace: tee(2) duplicates the head of the source pipe into
// every sink but the last, and splice(2) moves what all of them have into the last one.
// Sources are polled together (fan-in, whole chunks interleaved): the sinks see EOF when
// the last source closes. A token bucket with a 1 s burst caps the rate when asked. The
// pump owns every fd it is given and closes them.

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <atomic>
#include <memory>
#include <thread>

#include "bucket.h"
#include "shipote.h"

namespace shipote {

namespace {
constexpr size_t kChunkBytesMax = 1 << 20;

int64_t monotonicMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void setNonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}
}  // namespace

class Pump {
 public:
  Pump(std::vector<int> sources, std::vector<int> sinks, uint64_t bytesPerSec)
      : sources_(std::move(sources)),
        sinks_(std::move(sinks)),
        rate_(bytesPerSec),
        bucket_(bytesPerSec, bytesPerSec) {}

  ~Pump() {
    for (int fd : sources_) closeFd(fd);
    for (int fd : sinks_) closeFd(fd);
    closeFd(devNull_);
    closeFd(stopFd_);
  }

  bool init(SysError* error) {
    stopFd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (stopFd_ < 0) return fail(error, "eventfd");
    devNull_ = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (devNull_ < 0) return fail(error, "open");
    for (int fd : sources_) setNonblocking(fd);
    for (int fd : sinks_) setNonblocking(fd);
    return true;
  }

  void start() { thread_ = std::thread([this] { run(); }); }

  void stop() {
    uint64_t one = 1;
    ssize_t ignored = write(stopFd_, &one, sizeof one);
    (void)ignored;
    if (thread_.joinable()) thread_.join();
  }

  uint64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }
  bool done() const { return done_.load(std::memory_order_acquire); }

 private:
  static void closeFd(int& fd) {
    if (fd >= 0) close(fd);
    fd = -1;
  }

  static bool fail(SysError* error, const char* syscall) {
    *error = SysError{errno, syscall};
    return false;
  }

  bool stopRequested() const {
    struct pollfd p = {stopFd_, POLLIN, 0};
    return poll(&p, 1, 0) > 0;
  }

  size_t liveSinks() const {
    return static_cast<size_t>(
        std::count_if(sinks_.begin(), sinks_.end(), [](int fd) { return fd >= 0; }));
  }

  // The core's token bucket (bucket.h), burst = 1 s of rate. Returns how many bytes may
  // pass now (the tokens are taken); waits for at least one, or returns 0 on stop.
  size_t admit(size_t wanted) {
    if (rate_ == 0) return wanted;
    for (;;) {
      int64_t nowMs = monotonicMs();
      Grant g = bucket_.take(wanted, nowMs);
      if (g.grantedBytes > 0) return static_cast<size_t>(g.grantedBytes);
      // Less than a byte now: wait for one byte's worth, not for the whole chunk.
      Grant one = bucket_.take(1, nowMs);
      struct pollfd p = {stopFd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(std::min<uint64_t>(one.waitMs, 1000))) > 0) return 0;
    }
  }

  // Discards n head bytes of src (they reached every sink). The bytes are there already.
  void consume(int src, size_t n) {
    while (n > 0) {
      ssize_t r = splice(src, nullptr, devNull_, nullptr, n, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (r > 0) {
        n -= static_cast<size_t>(r);
      } else if (!(r < 0 && errno == EINTR)) {
        return;  // cannot happen for bytes already in the pipe
      }
    }
  }

  // Waits until one of `fds` is writable, or stop. Returns false on stop.
  bool waitWritable(const std::vector<int>& fds) {
    std::vector<struct pollfd> p;
    p.push_back({stopFd_, POLLIN, 0});
    for (int fd : fds) p.push_back({fd, POLLOUT, 0});
    for (;;) {
      int rc = poll(p.data(), p.size(), -1);
      if (rc < 0 && errno == EINTR) continue;
      return rc > 0 && p[0].revents == 0;
    }
  }

  // Single live sink: move the bytes (no duplicate, no discard).
  bool moveChunk(int src, int& sink, size_t n) {
    while (n > 0 && sink >= 0) {
      ssize_t r = splice(src, nullptr, sink, nullptr, n, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (r > 0) {
        n -= static_cast<size_t>(r);
      } else if (r < 0 && errno == EAGAIN) {
        if (!waitWritable({sink})) return false;
      } else if (!(r < 0 && errno == EINTR)) {
        closeFd(sink);  // EPIPE: the consumer is gone
      }
    }
    if (n > 0) consume(src, n);
    return true;
  }

  // Delivers the n head bytes of src to every live sink before taking anything else from
  // any source (so fan-in interleaves whole chunks). tee(2) duplicates the head into every
  // sink but the last, which gets the common prefix moved by splice(2) — consuming it.
  // tee only ever copies from the head, so a sink that took more than the others is
  // "ahead" and waits until the prefix is consumed. Zero copies throughout.
  bool deliverChunk(int src, size_t n) {
    std::vector<size_t> ahead(sinks_.size(), 0);
    size_t consumed = 0;
    while (consumed < n) {
      if (liveSinks() <= 1) {
        for (int& sink : sinks_) {
          if (sink >= 0) return moveChunk(src, sink, n - consumed);
        }
        consume(src, n - consumed);
        return true;
      }
      size_t last = sinks_.size();
      while (sinks_[--last] < 0) {
      }
      std::vector<int> blocked;
      size_t common = SIZE_MAX;
      for (size_t i = 0; i < last; i++) {
        if (sinks_[i] < 0) continue;
        if (ahead[i] == 0) {
          ssize_t r = tee(src, sinks_[i], n - consumed, SPLICE_F_NONBLOCK);
          if (r > 0) {
            ahead[i] = static_cast<size_t>(r);
          } else if (r < 0 && errno != EAGAIN && errno != EINTR) {
            closeFd(sinks_[i]);  // EPIPE: the consumer is gone
            continue;
          }
        }
        if (ahead[i] == 0) blocked.push_back(sinks_[i]);
        common = std::min(common, ahead[i]);
      }
      if (common == SIZE_MAX) continue;  // every other sink died: a lone sink now
      if (common == 0) {
        if (!waitWritable(blocked)) return false;
        continue;
      }
      if (ahead[last] > 0) {
        // The previous last sink died and this one already holds tee'd bytes: consume the
        // common prefix instead of moving it (that would duplicate it).
        common = std::min(common, ahead[last]);
        consume(src, common);
        consumed += common;
        for (size_t& a : ahead) a = a >= common ? a - common : 0;
        continue;
      }
      ssize_t r = splice(src, nullptr, sinks_[last], nullptr, common,
                         SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (r > 0) {
        consumed += static_cast<size_t>(r);
        for (size_t& a : ahead) a = a >= static_cast<size_t>(r) ? a - static_cast<size_t>(r) : 0;
      } else if (r < 0 && errno == EAGAIN) {
        if (!waitWritable({sinks_[last]})) return false;
      } else if (!(r < 0 && errno == EINTR)) {
        closeFd(sinks_[last]);  // EPIPE: the consumer is gone
      }
    }
    return true;
  }

  // Handles readiness of one source. Returns false once the source is finished.
  bool serviceSource(int src, short revents) {
    int avail = 0;
    if (ioctl(src, FIONREAD, &avail) < 0) avail = 0;
    if (avail == 0) return !(revents & (POLLHUP | POLLERR));
    size_t n = admit(std::min(static_cast<size_t>(avail), kChunkBytesMax));
    if (n == 0) return !stopRequested();
    if (!deliverChunk(src, n)) return false;
    bytes_.fetch_add(n, std::memory_order_relaxed);
    return true;
  }

  void run() {
    std::vector<struct pollfd> fds;
    while (!sources_.empty() && liveSinks() > 0) {
      fds.clear();
      fds.push_back({stopFd_, POLLIN, 0});
      for (int fd : sources_) fds.push_back({fd, POLLIN, 0});
      int rc = poll(fds.data(), fds.size(), -1);
      if (rc < 0 && errno == EINTR) continue;
      if (rc < 0 || fds[0].revents) break;
      std::vector<int> keep;
      for (size_t i = 1; i < fds.size(); i++) {
        int src = sources_[i - 1];
        if (fds[i].revents == 0 || serviceSource(src, fds[i].revents)) {
          keep.push_back(src);
        } else {
          close(src);
        }
      }
      sources_.swap(keep);
    }
    // Closing the sinks gives the consumers EOF; closing the sources gives producers
    // EPIPE/SIGPIPE when every consumer has gone (shell semantics).
    for (int& fd : sources_) closeFd(fd);
    for (int& fd : sinks_) closeFd(fd);
    sources_.clear();
    done_.store(true, std::memory_order_release);
  }

  std::vector<int> sources_;
  std::vector<int> sinks_;
  uint64_t rate_;
  TokenBucket bucket_;
  int stopFd_ = -1;
  int devNull_ = -1;
  std::atomic<uint64_t> bytes_{0};
  std::atomic<bool> done_{false};
  std::thread thread_;
};

Pump* pumpStart(std::vector<int> sources, std::vector<int> sinks, uint64_t bytesPerSec,
                SysError* error) {
  std::unique_ptr<Pump> pump(new Pump(std::move(sources), std::move(sinks), bytesPerSec));
  if (!pump->init(error)) return nullptr;  // the destructor closes the fds
  pump->start();
  return pump.release();
}

void pumpStop(Pump* pump) {
  pump->stop();
  delete pump;
}

uint64_t pumpBytes(const Pump* pump) { return pump->bytes(); }
bool pumpDone(const Pump* pump) { return pump->done(); }

}  // namespace shipote
