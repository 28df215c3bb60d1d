#pragma once
// The access log's named fields, as `log.fields` names them (in the spirit of nginx's
// log_format variables). One table: the config validates names against it, the access log
// writes each field by its id, and a JSON line uses the name as written as the key.

#include <cstdint>
#include <optional>
#include <string_view>

namespace lacquer::config {

// X(id, name, what it is). Order is the order of the default JSON line.
#define LACQUER_LOG_FIELDS(X)                                                                      \
    X(Time, "time", "the request's end, unix seconds")                                             \
    X(TimeIso8601, "time_iso8601", "the request's end, 2026-12-06T07:19:46.123Z (UTC, ms)")        \
    X(TimeLocal, "time_local", "the request's end, [06/Dec/2026:07:19:46 +0000] (NCSA)")           \
    X(TimeMsec, "time_msec", "the request's end, unix seconds with milliseconds")                  \
    X(Client, "client", "the client's address (after a PROXY header: the original client)")        \
    X(Method, "method", "the request method")                                                      \
    X(Target, "target", "the request target as the client sent it")                                \
    X(Protocol, "protocol", "HTTP/1.0 or HTTP/1.1")                                                \
    X(Request, "request", "the request line: method, target, protocol")                            \
    X(Status, "status", "the status sent (499: the client went away before any answer)")           \
    X(Bytes, "bytes", "response body bytes handed to the client")                                  \
    X(RequestBytes, "request_bytes", "request bytes read from the client: head and body")          \
    X(Referer, "referer", "the Referer header")                                                    \
    X(UserAgent, "user_agent", "the User-Agent header")                                            \
    X(Host, "host", "the authority the request was routed on (Host or absolute target)")           \
    X(Cache, "cache", "the cache status: hit, miss, stale, coalesced, pass, ...")                  \
    X(Route, "route", "the route's name")                                                          \
    X(UpstreamAddr, "upstream_addr", "the origin server that answered (or failed)")                \
    X(RequestId, "request_id", "X-Request-Id: the client's when valid, else a new one")            \
    X(Traceparent, "traceparent", "the W3C traceparent sent to the origin")                        \
    X(OriginMs, "origin_ms", "milliseconds from asking the origin to its answer's end")            \
    X(OriginUs, "origin_us", "origin_ms in microseconds")                                          \
    X(TotalMs, "total_ms", "milliseconds from the head's arrival to the request's end")            \
    X(TotalUs, "total_us", "total_ms in microseconds")                                             \
    X(Tls, "tls", "the client connection's TLS version (TLSv1.3), none when plain")                \
    X(Sni, "sni", "the server name the TLS client asked for")                                      \
    X(Term, "term",                                                                                \
      "how it ended: ok, client_abort, client_timeout, client_error, "                             \
      "origin_abort, shutdown, internal")                                                          \
    X(Steps, "steps", "the request's steps through the request state machine, with times")

enum class LogField : std::uint8_t {
#define LACQUER_LOG_FIELD_ENUM(id, name, what) id,
    LACQUER_LOG_FIELDS(LACQUER_LOG_FIELD_ENUM)
#undef LACQUER_LOG_FIELD_ENUM
};

// The field a name stands for: a name of the table, or one of nginx's names for the same thing
// (remote_addr, request_uri, url, body_bytes_sent, request_length, http_referer,
// http_user_agent, http_host, cache_status, tls_version, server_protocol, request_method).
std::optional<LogField> log_field_named(std::string_view name);
std::string_view log_field_name(LogField field);

} // namespace lacquer::config
