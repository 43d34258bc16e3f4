/*
 * udp-batch: the collector's optional UDP receive path. One socket, read with recvmmsg(2)
 * up to `batch` datagrams per system call when libuv says it is readable, and one call
 * into JavaScript per batch instead of one per datagram (Node's dgram makes a Buffer, an
 * address object and a callback for every datagram).
 *
 * Built from this file at `npm start` / `npm test` by bin/build.js with the system's C
 * compiler and Node's own headers (no prebuilt binary, no node-gyp); when it cannot be
 * built the collector uses Node's dgram (collector/src/ingest/udp-listener.ts).
 *
 * JavaScript gives the memory: `slab` (batch × 65536 bytes: one slot per datagram) and
 * `meta` (batch × 8 int32: length, address family 4|6, port, then the address's 16
 * octets as 4 words). open() keeps references to both until close().
 */
#define _GNU_SOURCE
#define NODE_GYP_MODULE_NAME udp_batch
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define SLOT_BYTES 65536
#define META_INTS 8
/* batches read per readable event before yielding to the event loop */
#define MAX_ROUNDS 8

typedef struct {
  uv_poll_t poll;
  int fd;
  int batch;
  uint8_t *slab;
  int32_t *meta;
  struct mmsghdr *msgs;
  struct iovec *iovs;
  struct sockaddr_storage *addrs;
  napi_env env;
  napi_ref on_batch;
  napi_ref slab_ref;
  napi_ref meta_ref;
  napi_async_context async;
  int closed;
} receiver;

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s %s (%s)", what, strerror(err), "udp-batch");
  napi_value code, text, error;
  const char *name = err == EADDRINUSE ? "EADDRINUSE" : err == EACCES ? "EACCES" : err == EADDRNOTAVAIL ? "EADDRNOTAVAIL" : err == EINVAL ? "EINVAL" : "ERR_UDP_BATCH";
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, code, text, &error);
  napi_set_named_property(env, error, "code", code);
  napi_throw(env, error);
  return NULL;
}

static void on_closed(uv_handle_t *h) {
  receiver *r = (receiver *)h->data;
  free(r->msgs);
  free(r->iovs);
  free(r->addrs);
  free(r);
}

static void release(receiver *r) {
  if (r->closed) return;
  r->closed = 1;
  uv_poll_stop(&r->poll);
  close(r->fd);
  napi_delete_reference(r->env, r->on_batch);
  napi_delete_reference(r->env, r->slab_ref);
  napi_delete_reference(r->env, r->meta_ref);
  napi_async_destroy(r->env, r->async);
  uv_close((uv_handle_t *)&r->poll, on_closed);
}

static void on_readable(uv_poll_t *p, int status, int events) {
  receiver *r = (receiver *)p->data;
  if (r->closed || status < 0 || !(events & UV_READABLE)) return;
  for (int round = 0; round < MAX_ROUNDS && !r->closed; round++) {
    for (int i = 0; i < r->batch; i++) {
      r->msgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
      r->msgs[i].msg_hdr.msg_flags = 0;
    }
    int n = recvmmsg(r->fd, r->msgs, r->batch, MSG_DONTWAIT, NULL);
    if (n <= 0) return; /* EAGAIN: drained; another error: libuv polls again */
    for (int i = 0; i < n; i++) {
      int32_t *m = r->meta + i * META_INTS;
      struct sockaddr_storage *a = &r->addrs[i];
      m[0] = (int32_t)r->msgs[i].msg_len;
      memset(m + 3, 0, 16);
      if (a->ss_family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)a;
        m[1] = 4;
        m[2] = ntohs(s4->sin_port);
        memcpy(m + 3, &s4->sin_addr, 4);
      } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)a;
        m[1] = 6;
        m[2] = ntohs(s6->sin6_port);
        memcpy(m + 3, &s6->sin6_addr, 16);
      }
    }
    napi_handle_scope scope;
    napi_open_handle_scope(r->env, &scope);
    napi_value cb, recv, argv[1], result;
    napi_get_reference_value(r->env, r->on_batch, &cb);
    napi_get_global(r->env, &recv);
    napi_create_int32(r->env, n, &argv[0]);
    napi_status st = napi_make_callback(r->env, r->async, recv, cb, 1, argv, &result);
    if (st == napi_pending_exception) {
      napi_value err;
      napi_get_and_clear_last_exception(r->env, &err);
      napi_fatal_exception(r->env, err);
    }
    napi_close_handle_scope(r->env, scope);
    if (n < r->batch) return; /* the queue is empty */
  }
}

static receiver *unwrap(napi_env env, napi_callback_info info, napi_value *args, size_t want) {
  size_t argc = want;
  napi_value self;
  napi_get_cb_info(env, info, &argc, args, &self, NULL);
  receiver *r = NULL;
  napi_unwrap(env, self, (void **)&r);
  return r;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  receiver *r = unwrap(env, info, NULL, 0);
  if (r) release(r);
  return NULL;
}

static napi_value js_recv_buffer_size(napi_env env, napi_callback_info info) {
  napi_value args[1];
  receiver *r = unwrap(env, info, args, 1);
  napi_value out;
  if (!r || r->closed) {
    napi_create_int32(env, 0, &out);
    return out;
  }
  napi_valuetype t;
  napi_typeof(env, args[0], &t);
  if (t == napi_number) {
    int32_t want;
    napi_get_value_int32(env, args[0], &want);
    /* the kernel caps the request at net.core.rmem_max; the caller compares what it got */
    setsockopt(r->fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof want);
  }
  int got = 0;
  socklen_t len = sizeof got;
  getsockopt(r->fd, SOL_SOCKET, SO_RCVBUF, &got, &len);
  napi_create_int32(env, got, &out);
  return out;
}

/* open(host, port, family, batch, slab, meta, onBatch) → { port, close(), recvBufferSize(n?) } */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value args[7];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  if (argc < 7) {
    napi_throw_type_error(env, NULL, "open(host, port, family, batch, slab, meta, onBatch)");
    return NULL;
  }
  char host[64];
  size_t hostlen;
  int32_t port, family, batch;
  napi_get_value_string_utf8(env, args[0], host, sizeof host, &hostlen);
  napi_get_value_int32(env, args[1], &port);
  napi_get_value_int32(env, args[2], &family);
  napi_get_value_int32(env, args[3], &batch);
  void *slab, *meta;
  size_t slab_len, meta_len;
  if (napi_get_buffer_info(env, args[4], &slab, &slab_len) != napi_ok ||
      napi_get_buffer_info(env, args[5], &meta, &meta_len) != napi_ok || batch < 1 ||
      slab_len < (size_t)batch * SLOT_BYTES || meta_len < (size_t)batch * META_INTS * 4) {
    napi_throw_range_error(env, NULL, "udp-batch: slab or meta smaller than the batch");
    return NULL;
  }

  struct sockaddr_storage addr;
  socklen_t addrlen;
  memset(&addr, 0, sizeof addr);
  if (family == 6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&addr;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1) return throw_errno(env, "bad address", EINVAL);
    addrlen = sizeof *s6;
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&addr;
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port);
    if (inet_pton(AF_INET, host, &s4->sin_addr) != 1) return throw_errno(env, "bad address", EINVAL);
    addrlen = sizeof *s4;
  }
  int fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  if (family == 6) {
    int off = 0; /* IPv4 exporters too, as Node's udp6 with ipv6Only false */
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  }
  if (bind(fd, (struct sockaddr *)&addr, addrlen) != 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, "bind", e);
  }
  struct sockaddr_storage bound;
  socklen_t boundlen = sizeof bound;
  getsockname(fd, (struct sockaddr *)&bound, &boundlen);
  int bound_port = ntohs(family == 6 ? ((struct sockaddr_in6 *)&bound)->sin6_port : ((struct sockaddr_in *)&bound)->sin_port);

  receiver *r = calloc(1, sizeof *r);
  r->fd = fd;
  r->batch = batch;
  r->slab = slab;
  r->meta = meta;
  r->env = env;
  r->msgs = calloc(batch, sizeof *r->msgs);
  r->iovs = calloc(batch, sizeof *r->iovs);
  r->addrs = calloc(batch, sizeof *r->addrs);
  for (int i = 0; i < batch; i++) {
    r->iovs[i].iov_base = r->slab + (size_t)i * SLOT_BYTES;
    r->iovs[i].iov_len = SLOT_BYTES;
    r->msgs[i].msg_hdr.msg_iov = &r->iovs[i];
    r->msgs[i].msg_hdr.msg_iovlen = 1;
    r->msgs[i].msg_hdr.msg_name = &r->addrs[i];
  }
  napi_create_reference(env, args[6], 1, &r->on_batch);
  napi_create_reference(env, args[4], 1, &r->slab_ref);
  napi_create_reference(env, args[5], 1, &r->meta_ref);
  napi_value resource_name;
  napi_create_string_utf8(env, "vxflow:udp-batch", NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(env, NULL, resource_name, &r->async);

  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  uv_poll_init(loop, &r->poll, fd);
  r->poll.data = r;
  uv_poll_start(&r->poll, UV_READABLE, on_readable);

  napi_value obj, v;
  napi_create_object(env, &obj);
  napi_wrap(env, obj, r, NULL, NULL, NULL);
  napi_create_int32(env, bound_port, &v);
  napi_set_named_property(env, obj, "port", v);
  napi_create_function(env, "close", NAPI_AUTO_LENGTH, js_close, NULL, &v);
  napi_set_named_property(env, obj, "close", v);
  napi_create_function(env, "recvBufferSize", NAPI_AUTO_LENGTH, js_recv_buffer_size, NULL, &v);
  napi_set_named_property(env, obj, "recvBufferSize", v);
  return obj;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn, v;
  napi_create_function(env, "open", NAPI_AUTO_LENGTH, js_open, NULL, &fn);
  napi_set_named_property(env, exports, "open", fn);
  napi_create_int32(env, SLOT_BYTES, &v);
  napi_set_named_property(env, exports, "slotBytes", v);
  napi_create_int32(env, META_INTS, &v);
  napi_set_named_property(env, exports, "metaInts", v);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
