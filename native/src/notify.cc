// sd_notify receiver: a datagram Unix socket per command (Node has no unix dgram sockets).
// Credentials come with each datagram (SO_PASSCRED → SCM_CREDENTIALS), so the sender's pid
// is known even when a grandchild speaks for the command.

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify.h"

namespace shipote {

int notifyBind(const std::string& path, SysError* error) {
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    *error = SysError{ENAMETOOLONG, "bind"};
    return -1;
  }
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  bool abstract = !path.empty() && path[0] == '@';
  socklen_t len = sizeof addr;
  if (abstract) {
    addr.sun_path[0] = '\0';  // `@name`: the abstract namespace, no file
    len = static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + path.size());
  }
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    *error = SysError{errno, "socket"};
    return -1;
  }
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0) {
    *error = SysError{errno, "setsockopt"};
    close(fd);
    return -1;
  }
  // A stale socket of a previous incarnation of the same command.
  if (!abstract) unlink(path.c_str());
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&addr), len) < 0) {
    *error = SysError{errno, "bind"};
    close(fd);
    return -1;
  }
  return fd;
}

int notifySend(const std::string& path, const std::string& message) {
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (path.empty()) return EINVAL;
  if (path.size() >= sizeof addr.sun_path) return ENAMETOOLONG;
  memcpy(addr.sun_path, path.data(), path.size());
  socklen_t len = static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + path.size());
  if (path[0] == '@') {
    addr.sun_path[0] = '\0';  // abstract: no terminating NUL, the length says where it ends
  } else {
    len += 1;  // include the NUL of a filesystem path
  }
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  ssize_t n = sendto(fd, message.data(), message.size(), MSG_NOSIGNAL,
                     reinterpret_cast<struct sockaddr*>(&addr), len);
  int err = n < 0 ? errno : 0;
  close(fd);
  return err;
}

int notifyRecv(int fd, NotifyMessage* out) {
  char data[4096];
  char control[CMSG_SPACE(sizeof(struct ucred))];
  struct iovec iov = {data, sizeof data};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
  out->pid = 0;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
      struct ucred cred;
      memcpy(&cred, CMSG_DATA(c), sizeof cred);
      out->pid = cred.pid;
    } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      // sd_notify may pass fds (FDSTORE=1); we do not keep them.
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; i++) {
        int passed;
        memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof passed);
        close(passed);
      }
    }
  }
  out->message.assign(data, static_cast<size_t>(n));
  return 1;
}

}  // namespace shipote
