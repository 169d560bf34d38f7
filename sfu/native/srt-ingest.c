// srt-ingest: the node's one SRT listener (sfu/src/ingest/srt-listener.ts spawns and owns it).
//
// Why C: Node has no libsrt binding, and ffmpeg's own SRT listener takes one caller per process and
// port, with no say over who connects. This program listens on one UDP port for every stream, asks
// Node whether each caller may publish (its streamid, before the handshake completes: libsrt's
// listen callback), and relays accepted callers' MPEG-TS to Node. It decodes nothing and decides
// nothing itself. It exits when Node closes its stdin (and dies with Node under pdeathsig).
//
// Usage: srt-ingest HOST PORT   (passphrase, if any, in ONAIR_SRT_PASSPHRASE: never on a command line;
//        the latency to ask of callers, ms, in ONAIR_SRT_LATENCY_MS)
// To Node (stdout), frames: type u8, connection id u32 BE, length u32 BE, payload:
//   'L' listening (payload: the bound port, decimal)   'A' may this caller publish? ("streamid\0peer")
//   'O' the accepted caller is connected (payload: the agreed receive latency, ms)   'D' MPEG-TS bytes
//   'C' the connection ended (payload: why)
// From Node (stdin), lines: "accept ID", "reject ID", "close ID".
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <srt/access_control.h>
#include <srt/srt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_VERDICTS 64
#define VERDICT_TIMEOUT_S 3

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t verdict_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t verdict_cond = PTHREAD_COND_INITIALIZER;
static struct { int id; int verdict; } verdicts[MAX_VERDICTS]; // verdict: 1 accept, -1 reject
static int eid;

static void write_all(const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(1, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      exit(0); // Node is gone
    }
    p += n;
    len -= (size_t)n;
  }
}

static void frame(char type, int id, const void *payload, uint32_t len) {
  unsigned char h[9];
  h[0] = (unsigned char)type;
  uint32_t nid = htonl((uint32_t)id), nlen = htonl(len);
  memcpy(h + 1, &nid, 4);
  memcpy(h + 5, &nlen, 4);
  pthread_mutex_lock(&out_lock);
  write_all(h, 9);
  if (len) write_all(payload, len);
  pthread_mutex_unlock(&out_lock);
}

static void closed(int id, const char *why) { frame('C', id, why, (uint32_t)strlen(why)); }

// libsrt calls this on its receiver thread for every caller, before the handshake completes.
static int on_caller(void *opaque, SRTSOCKET ns, int hsversion, const struct sockaddr *peer, const char *streamid) {
  (void)opaque;
  (void)hsversion;
  char addr[INET6_ADDRSTRLEN + 8] = "?";
  if (peer && peer->sa_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)peer;
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
    snprintf(addr, sizeof addr, "%s:%u", ip, ntohs(a->sin_port));
  }
  const char *sid = streamid ? streamid : "";
  size_t sl = strnlen(sid, 512), al = strlen(addr);
  char payload[512 + 1 + sizeof addr];
  memcpy(payload, sid, sl);
  payload[sl] = 0;
  memcpy(payload + sl + 1, addr, al);
  frame('A', ns, payload, (uint32_t)(sl + 1 + al));
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += VERDICT_TIMEOUT_S;
  int verdict = 0;
  pthread_mutex_lock(&verdict_lock);
  while (!verdict) {
    for (int i = 0; i < MAX_VERDICTS; i++) {
      if (verdicts[i].id == ns && verdicts[i].verdict) {
        verdict = verdicts[i].verdict;
        verdicts[i].id = 0;
        verdicts[i].verdict = 0;
      }
    }
    if (!verdict && pthread_cond_timedwait(&verdict_cond, &verdict_lock, &until) == ETIMEDOUT) verdict = -1;
  }
  pthread_mutex_unlock(&verdict_lock);
  if (verdict < 0) {
    srt_setrejectreason(ns, SRT_REJX_FORBIDDEN);
    return -1;
  }
  return 0;
}

static void set_verdict(int id, int verdict) {
  pthread_mutex_lock(&verdict_lock);
  for (int i = 0; i < MAX_VERDICTS; i++) {
    if (!verdicts[i].verdict) {
      verdicts[i].id = id;
      verdicts[i].verdict = verdict;
      break;
    }
  }
  pthread_cond_broadcast(&verdict_cond);
  pthread_mutex_unlock(&verdict_lock);
}

static void drop(int id, const char *why) {
  srt_epoll_remove_usock(eid, id);
  srt_close(id);
  closed(id, why);
}

static char line[4096];
static size_t line_len;

// Returns 0 when stdin ended (Node is gone).
static int read_commands(void) {
  ssize_t n = read(0, line + line_len, sizeof line - line_len - 1);
  if (n <= 0) return n < 0 && errno == EINTR;
  line_len += (size_t)n;
  char *start = line, *nl;
  while ((nl = memchr(start, '\n', line + line_len - start))) {
    *nl = 0;
    char cmd[16];
    int id;
    if (sscanf(start, "%15s %d", cmd, &id) == 2) {
      if (!strcmp(cmd, "accept")) set_verdict(id, 1);
      else if (!strcmp(cmd, "reject")) set_verdict(id, -1);
      else if (!strcmp(cmd, "close")) drop(id, "closed_by_node");
    }
    start = nl + 1;
  }
  line_len -= (size_t)(start - line);
  memmove(line, start, line_len);
  if (line_len == sizeof line - 1) line_len = 0; // a line longer than any command: garbage
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: srt-ingest HOST PORT\n");
    return 2;
  }
  srt_startup();
  srt_setloglevel(LOG_CRIT); // refusals and closes are reported to Node, which logs them once
  SRTSOCKET listener = srt_create_socket();
  int no = 0, yes = 1;
  srt_setsockflag(listener, SRTO_RCVSYN, &no, sizeof no);
  const char *pass = getenv("ONAIR_SRT_PASSPHRASE");
  if (pass && *pass) {
    // Callers without it (or with another) fail the handshake: libsrt enforces encryption.
    if (srt_setsockflag(listener, SRTO_PASSPHRASE, pass, (int)strlen(pass)) == SRT_ERROR ||
        srt_setsockflag(listener, SRTO_ENFORCEDENCRYPTION, &yes, sizeof yes) == SRT_ERROR) {
      fprintf(stderr, "srt-ingest: passphrase refused: %s\n", srt_getlasterror_str());
      return 2;
    }
  }
  const char *latency = getenv("ONAIR_SRT_LATENCY_MS");
  if (latency && *latency) {
    // Both directions' latency (receive, and the peer's when it sends): each connection then uses
    // the larger of this and what the caller asks for, as libsrt negotiates it.
    int ms = atoi(latency);
    if (srt_setsockflag(listener, SRTO_LATENCY, &ms, sizeof ms) == SRT_ERROR) {
      fprintf(stderr, "srt-ingest: latency refused: %s\n", srt_getlasterror_str());
      return 2;
    }
  }
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
  if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
    fprintf(stderr, "srt-ingest: HOST must be an IPv4 address, got %s\n", argv[1]);
    return 2;
  }
  if (srt_bind(listener, (struct sockaddr *)&sa, sizeof sa) == SRT_ERROR || srt_listen(listener, 16) == SRT_ERROR) {
    fprintf(stderr, "srt-ingest: cannot listen on %s:%s: %s\n", argv[1], argv[2], srt_getlasterror_str());
    return 1;
  }
  srt_listen_callback(listener, on_caller, NULL);
  struct sockaddr_in bound;
  int blen = sizeof bound;
  srt_getsockname(listener, (struct sockaddr *)&bound, &blen);
  char port[8];
  int pl = snprintf(port, sizeof port, "%u", ntohs(bound.sin_port));
  eid = srt_epoll_create();
  int in = SRT_EPOLL_IN | SRT_EPOLL_ERR;
  srt_epoll_add_usock(eid, listener, &in);
  srt_epoll_add_ssock(eid, 0, &in);
  frame('L', 0, port, (uint32_t)pl);

  static char buf[1500 * 8];
  for (;;) {
    SRTSOCKET ready[64];
    int rn = 64;
    SYSSOCKET sys[1];
    int sn = 1;
    int n = srt_epoll_wait(eid, ready, &rn, NULL, NULL, 1000, sys, &sn, NULL, NULL);
    if (n < 0) continue; // timeout
    if (sn > 0 && !read_commands()) break;
    for (int i = 0; i < rn; i++) {
      SRTSOCKET s = ready[i];
      if (s == listener) {
        struct sockaddr_storage peer;
        int plen = sizeof peer;
        SRTSOCKET c;
        while ((c = srt_accept(listener, (struct sockaddr *)&peer, &plen)) != SRT_INVALID_SOCK) {
          srt_setsockflag(c, SRTO_RCVSYN, &no, sizeof no);
          srt_epoll_add_usock(eid, c, &in);
          // The 'O' frame says the receive latency the handshake agreed on (ms, decimal).
          int agreed = 0, alen = sizeof agreed;
          char lat[16];
          srt_getsockflag(c, SRTO_RCVLATENCY, &agreed, &alen);
          int ll = snprintf(lat, sizeof lat, "%d", agreed);
          frame('O', c, lat, (uint32_t)ll);
          plen = sizeof peer;
        }
        continue;
      }
      for (;;) {
        int got = srt_recvmsg(s, buf, sizeof buf);
        if (got > 0) {
          frame('D', s, buf, (uint32_t)got);
          continue;
        }
        if (got == SRT_ERROR && srt_getlasterror(NULL) == SRT_EASYNCRCV) break;
        drop(s, "peer_closed");
        break;
      }
    }
  }
  srt_close(listener);
  srt_cleanup();
  return 0;
}
