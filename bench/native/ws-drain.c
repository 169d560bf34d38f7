// ws-drain: many WebSocket viewers that only read, for the real-time bench (bench/src/realtime-scale.ts).
//
// Why C: on this 2-core machine the load clients share the CPU with the gateway they measure. A Node
// `ws` client spends several microseconds of JavaScript per frame received; 10,000 viewers at ~10
// frames/s cost the bench about as much CPU as the gateway itself. This program does what a viewer
// that does not render does: a non-blocking connect from a chosen source address, the WebSocket
// handshake, then epoll and read(2) into one buffer, walking the frame headers to count frames (and,
// from the first payload byte, chat frames: the ServerFrame field-1 tag 0x0a). Latency is measured
// by the Node load clients' sampled viewers, which decode every message; this one only keeps the
// other sockets drained so the gateway writes to 10,000 real, reading clients.
//
// Usage: ws-drain HOST PORT PATH LOCAL_ADDRESS COUNT CONCURRENCY
// Prints "ready OPEN FAILED" once every connection is open or failed, then answers lines on stdin:
//   reset UNTIL_MS  zero the counters; frames after UNTIL_MS (epoch ms) are not counted -> "reset-done"
//   report          -> "report OPEN FAILED CLOSED FRAMES CHAT_FRAMES BYTES"
//   exit (or EOF)   close everything and exit
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

enum { CONNECTING, HANDSHAKE, OPEN, CLOSED };

typedef struct {
  int fd;
  int state;
  char hs[512]; // the HTTP upgrade response, up to its blank line
  int hslen;
  unsigned char hdr[14]; // a frame header being read
  int hdrlen;
  uint64_t remaining; // payload bytes of the current frame still to come
  int need_tag;       // the next payload byte is the ServerFrame's first tag
} conn_t;

static conn_t *conns;
static int count, concurrency, started, in_progress;
static long n_open, n_failed, n_closed, frames, chat_frames, bytes_in;
static int64_t count_until = INT64_MAX;
static struct sockaddr_in server, local;
static char request[1024];
static int request_len;
static int ep;

static int64_t now_ms(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void finish_attempt(conn_t *c, int ok) {
  in_progress--;
  if (ok) {
    n_open++;
    return;
  }
  n_failed++;
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->state = CLOSED;
}

static void start_connect(int i) {
  conn_t *c = &conns[i];
  memset(c, 0, sizeof *c);
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  in_progress++;
  if (c->fd < 0) {
    c->state = CLOSED;
    in_progress--;
    n_failed++;
    return;
  }
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (bind(c->fd, (struct sockaddr *)&local, sizeof local) < 0 ||
      (connect(c->fd, (struct sockaddr *)&server, sizeof server) < 0 && errno != EINPROGRESS)) {
    close(c->fd);
    c->state = CLOSED;
    in_progress--;
    n_failed++;
    return;
  }
  c->state = CONNECTING;
  struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)i};
  epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void fill_connects(void) {
  while (started < count && in_progress < concurrency) start_connect(started++);
}

static void on_frames(conn_t *c, const unsigned char *p, const unsigned char *end, int counting) {
  while (p < end) {
    if (c->remaining > 0) {
      if (c->need_tag) {
        if (counting && *p == 0x0a) chat_frames++;
        c->need_tag = 0;
      }
      uint64_t take = (uint64_t)(end - p) < c->remaining ? (uint64_t)(end - p) : c->remaining;
      p += take;
      c->remaining -= take;
      continue;
    }
    c->hdr[c->hdrlen++] = *p++;
    if (c->hdrlen < 2) continue;
    int len7 = c->hdr[1] & 0x7f;
    int ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
    int need = 2 + ext + ((c->hdr[1] & 0x80) ? 4 : 0);
    if (c->hdrlen < need) continue;
    uint64_t len = (uint64_t)len7;
    if (ext) {
      len = 0;
      for (int k = 0; k < ext; k++) len = (len << 8) | c->hdr[2 + k];
    }
    if (counting) frames++;
    c->remaining = len;
    c->need_tag = len > 0 && (c->hdr[0] & 0x0f) == 2;
    c->hdrlen = 0;
  }
}

static void on_readable(conn_t *c) {
  static unsigned char buf[1 << 16];
  ssize_t n = read(c->fd, buf, sizeof buf);
  if (n <= 0) {
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (c->state == HANDSHAKE) return finish_attempt(c, 0);
    n_closed++;
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->state = CLOSED;
    return;
  }
  int counting = now_ms() <= count_until;
  if (c->state == OPEN) {
    if (counting) bytes_in += n;
    on_frames(c, buf, buf + n, counting);
    return;
  }
  // HANDSHAKE: collect the response head; what follows the blank line is already frame data.
  int take = n < (ssize_t)(sizeof c->hs - 1 - c->hslen) ? (int)n : (int)(sizeof c->hs - 1 - c->hslen);
  memcpy(c->hs + c->hslen, buf, take);
  c->hslen += take;
  c->hs[c->hslen] = 0;
  char *blank = strstr(c->hs, "\r\n\r\n");
  if (!blank) {
    if (c->hslen >= (int)sizeof c->hs - 1) finish_attempt(c, 0);
    return;
  }
  if (strncmp(c->hs, "HTTP/1.1 101", 12) != 0) return finish_attempt(c, 0);
  c->state = OPEN;
  finish_attempt(c, 1);
  int head = (int)(blank + 4 - c->hs);
  if (n > head - (c->hslen - take)) {
    int offset = head - (c->hslen - take); // where the frames start in this read
    on_frames(c, buf + offset, buf + n, counting);
  }
}

static void on_writable(conn_t *c, uint32_t i) {
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err || write(c->fd, request, request_len) != request_len) return finish_attempt(c, 0);
  c->state = HANDSHAKE;
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
  epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static int on_command(char *line) {
  if (strncmp(line, "reset", 5) == 0) {
    long long until = atoll(line + 5);
    count_until = until > 0 ? until : INT64_MAX;
    frames = chat_frames = bytes_in = 0;
    printf("reset-done\n");
  } else if (strncmp(line, "report", 6) == 0) {
    printf("report %ld %ld %ld %ld %ld %ld\n", n_open, n_failed, n_closed, frames, chat_frames, bytes_in);
  } else if (strncmp(line, "exit", 4) == 0) {
    return 0;
  }
  fflush(stdout);
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: ws-drain HOST PORT PATH LOCAL_ADDRESS COUNT CONCURRENCY\n");
    return 2;
  }
  server.sin_family = AF_INET;
  server.sin_port = htons((uint16_t)atoi(argv[2]));
  local.sin_family = AF_INET;
  if (inet_pton(AF_INET, argv[1], &server.sin_addr) != 1 || inet_pton(AF_INET, argv[4], &local.sin_addr) != 1) {
    fprintf(stderr, "ws-drain: HOST and LOCAL_ADDRESS must be IPv4 addresses\n");
    return 2;
  }
  count = atoi(argv[5]);
  concurrency = atoi(argv[6]) > 0 ? atoi(argv[6]) : 100;
  request_len = snprintf(request, sizeof request,
                         "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                         argv[3], argv[1], argv[2]);
  conns = calloc((size_t)count, sizeof *conns);
  ep = epoll_create1(EPOLL_CLOEXEC);
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  struct epoll_event stdin_ev = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
  epoll_ctl(ep, EPOLL_CTL_ADD, 0, &stdin_ev);
  setvbuf(stdout, NULL, _IOLBF, 0);

  fill_connects();
  int announced = 0;
  char line[256];
  int linelen = 0;
  struct epoll_event events[256];
  for (;;) {
    if (!announced && started == count && in_progress == 0) {
      printf("ready %ld %ld\n", n_open, n_failed);
      announced = 1;
    }
    int n = epoll_wait(ep, events, 256, 1000);
    for (int k = 0; k < n; k++) {
      uint32_t i = events[k].data.u32;
      if (i == UINT32_MAX) {
        char ch;
        ssize_t r;
        while ((r = read(0, &ch, 1)) == 1) {
          if (ch != '\n') {
            if (linelen < (int)sizeof line - 1) line[linelen++] = ch;
            continue;
          }
          line[linelen] = 0;
          linelen = 0;
          if (!on_command(line)) return 0;
        }
        if (r == 0) return 0; // the parent went away
        continue;
      }
      conn_t *c = &conns[i];
      if (c->state == CONNECTING) on_writable(c, i);
      else if (c->state == HANDSHAKE || c->state == OPEN) on_readable(c);
    }
    fill_connects();
  }
}
