// llhttp callbacks only copy bytes into the message; deciding what a message means is left to the
// callers. Parsing pauses at each message end so pipelined bytes stay with the caller.
#include "support/http_message_parser.h"

namespace lacquer::test {

MessageParser::MessageParser(Kind kind) {
    llhttp_settings_init(&settings_);
    settings_.on_message_begin = &MessageParser::on_message_begin;
    settings_.on_url = &MessageParser::on_url;
    settings_.on_status = &MessageParser::on_status;
    settings_.on_header_field = &MessageParser::on_header_field;
    settings_.on_header_value = &MessageParser::on_header_value;
    settings_.on_header_value_complete = &MessageParser::on_header_value_complete;
    settings_.on_headers_complete = &MessageParser::on_headers_complete;
    settings_.on_body = &MessageParser::on_body;
    settings_.on_message_complete = &MessageParser::on_message_complete;
    llhttp_init(&parser_, kind == Kind::Request ? HTTP_REQUEST : HTTP_RESPONSE, &settings_);
    parser_.data = this;
}

MessageParser& MessageParser::self(llhttp_t* parser) {
    return *static_cast<MessageParser*>(parser->data);
}

MessageParser::Result MessageParser::feed(std::string_view data, std::size_t& consumed) {
    consumed = 0;
    if (!error_.empty()) {
        return Result::Error;
    }
    if (data.empty()) {
        return Result::NeedMore;
    }
    const llhttp_errno_t rc = llhttp_execute(&parser_, data.data(), data.size());
    if (rc == HPE_OK) {
        consumed = data.size();
        return Result::NeedMore;
    }
    if (rc == HPE_PAUSED && complete_) {
        consumed = static_cast<std::size_t>(llhttp_get_error_pos(&parser_) - data.data());
        llhttp_resume(&parser_);
        return Result::Complete;
    }
    error_ = std::string(llhttp_errno_name(rc)) + ": " + llhttp_get_error_reason(&parser_);
    return Result::Error;
}

MessageParser::Result MessageParser::finish() {
    if (!error_.empty()) {
        return Result::Error;
    }
    const llhttp_errno_t rc = llhttp_finish(&parser_);
    if (complete_) {
        return Result::Complete;
    }
    if (rc == HPE_OK) {
        error_ = started_ ? "connection closed in the middle of a message"
                          : "connection closed before a message began";
    } else {
        error_ = std::string(llhttp_errno_name(rc)) + ": " + llhttp_get_error_reason(&parser_);
    }
    return Result::Error;
}

ParsedMessage MessageParser::take_message() {
    ParsedMessage out = std::move(message_);
    message_ = ParsedMessage{};
    started_ = false;
    complete_ = false;
    no_body_ = false;
    return out;
}

int MessageParser::on_message_begin(llhttp_t* parser) {
    self(parser).started_ = true;
    return 0;
}

int MessageParser::on_url(llhttp_t* parser, const char* at, std::size_t length) {
    self(parser).message_.target.append(at, length);
    return 0;
}

int MessageParser::on_status(llhttp_t* parser, const char* at, std::size_t length) {
    self(parser).message_.reason.append(at, length);
    return 0;
}

int MessageParser::on_header_field(llhttp_t* parser, const char* at, std::size_t length) {
    self(parser).field_.append(at, length);
    return 0;
}

int MessageParser::on_header_value(llhttp_t* parser, const char* at, std::size_t length) {
    self(parser).value_.append(at, length);
    return 0;
}

int MessageParser::on_header_value_complete(llhttp_t* parser) {
    MessageParser& me = self(parser);
    me.message_.headers.emplace_back(std::move(me.field_), std::move(me.value_));
    me.field_.clear();
    me.value_.clear();
    return 0;
}

int MessageParser::on_headers_complete(llhttp_t* parser) {
    MessageParser& me = self(parser);
    ParsedMessage& msg = me.message_;
    msg.http_major = parser->http_major;
    msg.http_minor = parser->http_minor;
    if (parser->type == HTTP_REQUEST) {
        msg.method = llhttp_method_name(static_cast<llhttp_method_t>(parser->method));
    } else {
        msg.status = parser->status_code;
    }
    msg.chunked = (parser->flags & F_CHUNKED) != 0;
    // 1 tells llhttp "this message has no body" (a response to HEAD).
    return me.no_body_ ? 1 : 0;
}

int MessageParser::on_body(llhttp_t* parser, const char* at, std::size_t length) {
    self(parser).message_.body.append(at, length);
    return 0;
}

int MessageParser::on_message_complete(llhttp_t* parser) {
    MessageParser& me = self(parser);
    me.message_.keep_alive = llhttp_should_keep_alive(parser) != 0;
    me.complete_ = true;
    return HPE_PAUSED;
}

} // namespace lacquer::test
