/*
 * blast: a NetFlow v9 / IPFIX load generator for the collector benchmark.
 *
 *   blast HOST PORT v9|ipfix SECONDS FLOWS_PER_SECOND [DOMAIN [SOURCE]]
 *
 * Sends datagrams of 30 (v9) or 26 (IPFIX) flow records with sendmmsg(2), paced against
 * the clock (sleeping, not spinning, when ahead: the machine is shared with the collector
 * under test). A template datagram goes first and then every 100 datagrams. Sequence
 * numbers advance as each protocol defines them (v9: packets, IPFIX: data records before
 * this message). Every record has packets = 1 and bytes = 100 and distinct ports, so
 * "records received" = sum(packets). Prints "sent_datagrams sent_records" at the end.
 * SOURCE (an IPv4 address such as 127.0.0.2) is the address it sends from, so several
 * blasts are several exporters to the collector.
 *
 *   blast HOST PORT replay:FILE SECONDS FLOWS_PER_SECOND [DOMAIN [SOURCE]]
 *
 * Replays the datagrams of FILE (bench/tools/sim-datagrams.ts: u16 length, u16 flow
 * records, u16 data records, then the datagram) in a loop, paced on flow records, with the
 * header's sequence number rewritten as the protocol counts it, so a loop is not a loss.
 * Prints the same two numbers (records: the flow records of the datagrams sent).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 32
#define MAXLEN 1500

static uint8_t bufs[BATCH][MAXLEN];
static struct mmsghdr msgs[BATCH];
static struct iovec iovs[BATCH];

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}
static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v; }
static void put32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }
static void put64(uint8_t *p, uint64_t v) { put32(p, v >> 32); put32(p + 4, (uint32_t)v); }

/* the record layout: {element id, length} */
static const uint16_t V9_FIELDS[][2] = {{8, 4}, {12, 4}, {7, 2}, {11, 2}, {4, 1}, {6, 1}, {1, 8}, {2, 8}, {22, 4}, {21, 4}, {10, 4}, {14, 4}};
static const uint16_t IPFIX_FIELDS[][2] = {{8, 4}, {12, 4}, {7, 2}, {11, 2}, {4, 1}, {6, 1}, {1, 8}, {2, 8}, {152, 8}, {153, 8}, {10, 4}, {14, 4}};
#define NFIELDS 12

/* replay: the file's datagrams, their flow and data record counts */
static uint8_t *replay_buf;
static size_t replay_count;
static uint8_t **replay_dgram;
static uint16_t *replay_len, *replay_flows, *replay_data;

static int load_replay(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  replay_buf = malloc(size > 0 ? size : 1);
  if (fread(replay_buf, 1, size, f) != (size_t)size) return -1;
  fclose(f);
  size_t cap = size / 6 + 1;
  replay_dgram = malloc(cap * sizeof *replay_dgram);
  replay_len = malloc(cap * sizeof *replay_len);
  replay_flows = malloc(cap * sizeof *replay_flows);
  replay_data = malloc(cap * sizeof *replay_data);
  for (long o = 0; o + 6 <= size;) {
    uint16_t len = replay_buf[o] << 8 | replay_buf[o + 1];
    if (o + 6 + len > size || len > MAXLEN) return -1;
    replay_len[replay_count] = len;
    replay_flows[replay_count] = replay_buf[o + 2] << 8 | replay_buf[o + 3];
    replay_data[replay_count] = replay_buf[o + 4] << 8 | replay_buf[o + 5];
    replay_dgram[replay_count++] = replay_buf + o + 6;
    o += 6 + len;
  }
  return replay_count > 0 ? 0 : -1;
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: blast HOST PORT v9|ipfix|replay:FILE SECONDS FLOWS_PER_SECOND [DOMAIN [SOURCE]]\n");
    return 2;
  }
  int replay = strncmp(argv[3], "replay:", 7) == 0;
  if (replay && load_replay(argv[3] + 7) != 0) {
    fprintf(stderr, "blast: cannot read datagrams from %s\n", argv[3] + 7);
    return 2;
  }
  size_t next_replay = 0;
  const char *host = argv[1];
  int port = atoi(argv[2]);
  int ipfix = strcmp(argv[3], "ipfix") == 0;
  double secs = atof(argv[4]);
  double rate = atof(argv[5]);
  uint32_t domain = argc > 6 ? (uint32_t)atol(argv[6]) : 1;
  /* record lengths are the sums of the field lengths above; 26 IPFIX records keep a message under 1500 */
  int per = ipfix ? 26 : 30;
  int reclen = ipfix ? 54 : 46;

  struct sockaddr_in6 dst6;
  struct sockaddr_in dst4;
  struct sockaddr *dst;
  socklen_t dstlen;
  int fd;
  memset(&dst4, 0, sizeof dst4);
  memset(&dst6, 0, sizeof dst6);
  if (inet_pton(AF_INET, host, &dst4.sin_addr) == 1) {
    dst4.sin_family = AF_INET;
    dst4.sin_port = htons(port);
    dst = (struct sockaddr *)&dst4;
    dstlen = sizeof dst4;
    fd = socket(AF_INET, SOCK_DGRAM, 0);
  } else {
    inet_pton(AF_INET6, host, &dst6.sin6_addr);
    dst6.sin6_family = AF_INET6;
    dst6.sin6_port = htons(port);
    dst = (struct sockaddr *)&dst6;
    dstlen = sizeof dst6;
    fd = socket(AF_INET6, SOCK_DGRAM, 0);
  }
  if (argc > 7) {
    struct sockaddr_in src;
    memset(&src, 0, sizeof src);
    src.sin_family = AF_INET;
    if (inet_pton(AF_INET, argv[7], &src.sin_addr) != 1 || bind(fd, (struct sockaddr *)&src, sizeof src) != 0) {
      fprintf(stderr, "blast: cannot send from %s\n", argv[7]);
      return 2;
    }
  }
  int sndbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);

  struct timespec wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  uint64_t boot_ms = (uint64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000 - 60000;
  uint32_t seq = 0;
  uint64_t sent_dgrams = 0, sent_records = 0, flow_id = 0;
  double t0 = now_s();
  double dgram_rate = rate / per;

  for (;;) {
    double elapsed = now_s() - t0;
    if (elapsed >= secs) break;
    /* replay paces on flow records (its datagrams carry varying counts), blast on datagrams */
    uint64_t due = replay ? (uint64_t)(elapsed * rate) + 1 : (uint64_t)(elapsed * dgram_rate) + 1;
    if ((replay ? sent_records : sent_dgrams) >= due) {
      struct timespec ns = {0, 200000};
      nanosleep(&ns, NULL);
      continue;
    }
    int n = replay ? BATCH : (int)(due - sent_dgrams);
    if (n > BATCH) n = BATCH;
    clock_gettime(CLOCK_REALTIME, &wall);
    uint64_t now_ms = (uint64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
    int recs_in_batch = 0;
    for (int i = 0; replay && i < n; i++) {
      size_t k = next_replay;
      next_replay = (next_replay + 1) % replay_count;
      uint8_t *b = bufs[i];
      memcpy(b, replay_dgram[k], replay_len[k]);
      if (b[1] == 10) {
        put32(b + 8, seq);
        seq += replay_data[k];
      } else
        put32(b + 12, seq++);
      iovs[i].iov_base = b;
      iovs[i].iov_len = replay_len[k];
      memset(&msgs[i], 0, sizeof msgs[i]);
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = dst;
      msgs[i].msg_hdr.msg_namelen = dstlen;
      recs_in_batch += replay_flows[k];
      /* stop the batch once it covers what is due */
      if (sent_records + recs_in_batch >= due) {
        n = i + 1;
        break;
      }
    }
    for (int i = 0; !replay && i < n; i++) {
      uint8_t *b = bufs[i];
      int off = ipfix ? 16 : 20;
      int is_template = (sent_dgrams + i) % 100 == 0;
      int records = 0;
      if (is_template) {
        put16(b + off, ipfix ? 2 : 0);
        put16(b + off + 2, 4 + 4 + NFIELDS * 4);
        put16(b + off + 4, 256);
        put16(b + off + 6, NFIELDS);
        for (int f = 0; f < NFIELDS; f++) {
          const uint16_t *fd2 = ipfix ? IPFIX_FIELDS[f] : V9_FIELDS[f];
          put16(b + off + 8 + f * 4, fd2[0]);
          put16(b + off + 10 + f * 4, fd2[1]);
        }
        off += 8 + NFIELDS * 4;
      } else {
        put16(b + off, 256);
        put16(b + off + 2, 4 + per * reclen);
        uint8_t *r = b + off + 4;
        for (int k = 0; k < per; k++, r += reclen) {
          uint64_t id = flow_id++;
          put32(r, 0x0a000000 | (uint32_t)(id >> 16 & 0xffff));
          put32(r + 4, 0x0a640001);
          put16(r + 8, (uint16_t)id);
          put16(r + 10, 443);
          r[12] = 6;
          r[13] = 0x18;
          put64(r + 14, 100);
          put64(r + 22, 1);
          if (ipfix) {
            put64(r + 30, now_ms - 1000);
            put64(r + 38, now_ms);
            put32(r + 46, 1);
            put32(r + 50, 2);
          } else {
            put32(r + 30, (uint32_t)(now_ms - boot_ms - 1000));
            put32(r + 34, (uint32_t)(now_ms - boot_ms));
            put32(r + 38, 1);
            put32(r + 42, 2);
          }
        }
        off += 4 + per * reclen;
        records = per;
      }
      if (ipfix) {
        put16(b, 10);
        put16(b + 2, off);
        put32(b + 4, (uint32_t)(now_ms / 1000));
        put32(b + 8, seq);
        put32(b + 12, domain);
        seq += records;
      } else {
        put16(b, 9);
        put16(b + 2, 1);
        put32(b + 4, (uint32_t)(now_ms - boot_ms));
        put32(b + 8, (uint32_t)(now_ms / 1000));
        put32(b + 12, seq++);
        put32(b + 16, domain);
      }
      iovs[i].iov_base = b;
      iovs[i].iov_len = off;
      memset(&msgs[i], 0, sizeof msgs[i]);
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = dst;
      msgs[i].msg_hdr.msg_namelen = dstlen;
      recs_in_batch += records;
    }
    int done = 0;
    while (done < n) {
      int r = sendmmsg(fd, msgs + done, n - done, 0);
      if (r < 0) {
        struct timespec ns = {0, 100000};
        nanosleep(&ns, NULL);
        continue;
      }
      done += r;
    }
    sent_dgrams += n;
    sent_records += recs_in_batch;
  }
  printf("%llu %llu\n", (unsigned long long)sent_dgrams, (unsigned long long)sent_records);
  return 0;
}
