#pragma once

#include <sys/types.h>

#include <string>

#include "shipote.h"

namespace shipote {

struct NotifyMessage {
  pid_t pid = 0;
  std::string message;
};

// Binds a nonblocking SOCK_DGRAM Unix socket at `path` (`@name`: abstract) with
// SO_PASSCRED. Returns the fd.
int notifyBind(const std::string& path, SysError* error);
// Sends one datagram to an sd_notify socket: a path, or `@name` (abstract namespace).
// Returns 0 or an errno.
int notifySend(const std::string& path, const std::string& message);
// 1 = a message was read, 0 = none pending, -errno on error.
int notifyRecv(int fd, NotifyMessage* out);

}  // namespace shipote
