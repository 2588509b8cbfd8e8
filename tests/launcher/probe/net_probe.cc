// net-probe: the network tests' client and server, on either side of a
// published port (on the test's "host", and bind-mounted into busybox
// containers, whose nc has no UDP). Static, so it runs in any image.
//
//   net-probe tcp-serve IP PORT         accept; answer each connection "net-probe\n"
//   net-probe udp-serve IP PORT         answer each datagram with "net-probe:" + it
//   net-probe tcp-ask IP PORT           connect (2 s), print the answer; 1 if none
//   net-probe udp-ask IP PORT MESSAGE   send, print the answer (2 s); 1 if none
//
// Servers run until killed; each one prints "ready" once it is bound.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

constexpr int kTimeoutMs = 2000;

sockaddr_in address_of(const char* ip, const char* port) {
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(std::atoi(port)));
  if (inet_pton(AF_INET, ip, &address.sin_addr) != 1) {
    std::fprintf(stderr, "net-probe: bad address %s\n", ip);
    std::exit(2);
  }
  return address;
}

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "net-probe: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

int bound_socket(int type, const sockaddr_in& address) {
  int fd = socket(AF_INET, type, 0);
  int one = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
      bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0)
    fail("bind");
  return fd;
}

bool readable(int fd) {
  pollfd pfd = {fd, POLLIN, 0};
  return poll(&pfd, 1, kTimeoutMs) == 1;
}

int tcp_serve(const sockaddr_in& address) {
  int fd = bound_socket(SOCK_STREAM, address);
  if (listen(fd, 16) < 0) fail("listen");
  std::printf("ready\n");
  std::fflush(stdout);
  for (;;) {
    int client = accept(fd, nullptr, nullptr);
    if (client < 0) continue;
    (void)!write(client, "net-probe\n", 10);
    close(client);
  }
}

int udp_serve(const sockaddr_in& address) {
  int fd = bound_socket(SOCK_DGRAM, address);
  std::printf("ready\n");
  std::fflush(stdout);
  for (;;) {
    char buffer[512];
    sockaddr_in peer = {};
    socklen_t length = sizeof peer;
    ssize_t n = recvfrom(fd, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&peer), &length);
    if (n < 0) continue;
    std::string reply = "net-probe:" + std::string(buffer, static_cast<size_t>(n));
    (void)sendto(fd, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&peer), length);
  }
}

int tcp_ask(const sockaddr_in& address) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) fail("socket");
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0 &&
      errno != EINPROGRESS)
    fail("connect");
  pollfd pfd = {fd, POLLOUT, 0};
  int error = 0;
  socklen_t length = sizeof error;
  if (poll(&pfd, 1, kTimeoutMs) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) < 0 ||
      error != 0) {
    std::fprintf(stderr, "net-probe: connect: %s\n", error ? std::strerror(error) : "timed out");
    return 1;
  }
  char buffer[512];
  if (!readable(fd)) {
    std::fprintf(stderr, "net-probe: no answer\n");
    return 1;
  }
  ssize_t n = read(fd, buffer, sizeof buffer);
  if (n <= 0) return 1;
  std::fwrite(buffer, 1, static_cast<size_t>(n), stdout);
  return 0;
}

int udp_ask(const sockaddr_in& address, const char* message) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) fail("socket");
  if (sendto(fd, message, std::strlen(message), 0, reinterpret_cast<const sockaddr*>(&address),
             sizeof address) < 0)
    fail("sendto");
  char buffer[512];
  if (!readable(fd)) {
    std::fprintf(stderr, "net-probe: no answer\n");
    return 1;
  }
  ssize_t n = recv(fd, buffer, sizeof buffer, 0);
  if (n <= 0) return 1;
  std::fwrite(buffer, 1, static_cast<size_t>(n), stdout);
  std::printf("\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr,
                 "usage: net-probe tcp-serve|udp-serve|tcp-ask|udp-ask IP PORT [MESSAGE]\n");
    return 2;
  }
  std::string verb = argv[1];
  sockaddr_in address = address_of(argv[2], argv[3]);
  if (verb == "tcp-serve") return tcp_serve(address);
  if (verb == "udp-serve") return udp_serve(address);
  if (verb == "tcp-ask") return tcp_ask(address);
  if (verb == "udp-ask" && argc == 5) return udp_ask(address, argv[4]);
  std::fprintf(stderr, "net-probe: unknown verb %s\n", argv[1]);
  return 2;
}
