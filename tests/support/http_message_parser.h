#pragma once
// An llhttp wrapper that turns a byte stream into whole HTTP/1.x messages for tests. It parses
// strictly (no lenient flags), so a malformed message from lacquerd fails the test instead of
// being papered over. Not thread-safe; one parser per connection.

#include "support/header_fields.h"

#include <cstddef>
#include <llhttp.h>
#include <string>
#include <string_view>

namespace lacquer::test {

struct ParsedMessage {
    // Requests
    std::string method;
    std::string target;
    // Responses
    int status = 0;
    std::string reason;
    // Both
    int http_major = 1;
    int http_minor = 1;
    HeaderFields headers;
    std::string body;
    bool chunked = false;    // the body arrived with Transfer-Encoding: chunked
    bool keep_alive = false; // llhttp's verdict on whether the connection may be reused
};

class MessageParser {
public:
    enum class Kind { Request, Response };
    enum class Result { NeedMore, Complete, Error };

    explicit MessageParser(Kind kind);
    MessageParser(const MessageParser&) = delete;
    MessageParser& operator=(const MessageParser&) = delete;

    // The next response answers a HEAD request: headers only, whatever Content-Length says.
    void expect_no_body() { no_body_ = true; }

    // Parses from `data`, stopping right after one complete message. `consumed` receives the bytes
    // used; the caller keeps the rest for the next message (pipelining).
    Result feed(std::string_view data, std::size_t& consumed);

    // The peer closed the stream: completes a close-delimited body, otherwise reports truncation.
    Result finish();

    // True once any byte of the current message has been seen.
    bool started() const { return started_; }

    // Moves the completed message out and readies the parser for the next one on the connection.
    ParsedMessage take_message();

    const std::string& error() const { return error_; }

private:
    static int on_message_begin(llhttp_t* parser);
    static int on_url(llhttp_t* parser, const char* at, std::size_t length);
    static int on_status(llhttp_t* parser, const char* at, std::size_t length);
    static int on_header_field(llhttp_t* parser, const char* at, std::size_t length);
    static int on_header_value(llhttp_t* parser, const char* at, std::size_t length);
    static int on_header_value_complete(llhttp_t* parser);
    static int on_headers_complete(llhttp_t* parser);
    static int on_body(llhttp_t* parser, const char* at, std::size_t length);
    static int on_message_complete(llhttp_t* parser);
    static MessageParser& self(llhttp_t* parser);

    llhttp_settings_t settings_{};
    llhttp_t parser_{};
    ParsedMessage message_;
    std::string field_;
    std::string value_;
    std::string error_;
    bool started_ = false;
    bool complete_ = false;
    bool no_body_ = false;
};

} // namespace lacquer::test
