// Token bucket for `max_bytes_per_sec`: the same integer algorithm as core/flow/bucket.ts
// (tokens in milli-bytes, a rate of R bytes/s refills R milli-bytes per ms, integer ms
// time, a clock that steps back refills nothing). The two are checked against each other
// on shared (time, bytes) sequences through the addon's bucketTrace.
#pragma once

#include <algorithm>
#include <cstdint>

namespace shipote {

struct Grant {
  uint64_t grantedBytes = 0;
  uint64_t waitMs = 0;  // 0: all granted; else ms until the rest (capped at the burst)
};

class TokenBucket {
 public:
  // ratePerSec 0 = unlimited. burstBytes >= 1 when limited. Starts full.
  TokenBucket(uint64_t ratePerSec, uint64_t burstBytes)
      : rate_(ratePerSec), burst_(burstBytes), tokensMilli_(burstBytes * kMilli) {}

  Grant take(uint64_t wantBytes, int64_t nowMs) {
    Grant g;
    if (wantBytes == 0) return g;
    if (rate_ == 0) {
      g.grantedBytes = wantBytes;
      return g;
    }
    refill(nowMs);
    uint64_t available = tokensMilli_ / kMilli;
    g.grantedBytes = std::min(wantBytes, available);
    tokensMilli_ -= g.grantedBytes * kMilli;
    if (g.grantedBytes == wantBytes) return g;
    uint64_t restBytes = std::min(wantBytes - g.grantedBytes, burst_);
    uint64_t shortMilli = restBytes * kMilli - tokensMilli_;
    g.waitMs = std::max<uint64_t>(1, (shortMilli + rate_ - 1) / rate_);
    return g;
  }

 private:
  static constexpr uint64_t kMilli = 1000;

  void refill(int64_t nowMs) {
    bool first = !started_;
    int64_t last = lastMs_;
    started_ = true;
    lastMs_ = first ? nowMs : std::max(last, nowMs);
    if (first || nowMs <= last) return;
    uint64_t capMilli = burst_ * kMilli;
    uint64_t missingMilli = capMilli - tokensMilli_;
    uint64_t elapsedMs = static_cast<uint64_t>(nowMs - last);
    // Compare before multiplying so a long pause cannot overflow.
    if (elapsedMs >= (missingMilli + rate_ - 1) / rate_) {
      tokensMilli_ = capMilli;
    } else {
      tokensMilli_ += elapsedMs * rate_;
    }
  }

  uint64_t rate_;
  uint64_t burst_;
  uint64_t tokensMilli_;
  int64_t lastMs_ = 0;
  bool started_ = false;
};

}  // namespace shipote
