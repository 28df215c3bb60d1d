#include "lacquer/cache/body_stream.h"

#include "lacquer/core/spare_strings.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

namespace lacquer::cache {

namespace {
// Blocks for a body of unknown length start here and double up to the largest size.
constexpr std::size_t kFirstBlock = 16 * 1024;
constexpr std::size_t kLargestBlock = 1024 * 1024;
} // namespace

BodyStream* BodyStream::create(const Fields& fields) {
    return new BodyStream(fields);
}

BodyStream::BodyStream(const Fields& fields)
    : status_(fields.status), length_known_(fields.length_known), length_(fields.length) {
    core::assign_string(head_, fields.head);
    core::assign_string(vary_, fields.vary);
    // A known length is one block; readers find the first block without a lock, so it exists
    // before the stream is shared.
    next_capacity_ = kFirstBlock;
    if (fields.storage && length_known_ && length_ > 0 && fields.storage->body_size() == length_) {
        storage_ = fields.storage;
        storage_block_.capacity = static_cast<std::size_t>(length_);
        storage_block_.bytes = storage_->body_for_fill();
        first_ = tail_ = &storage_block_;
        return;
    }
    const std::size_t first =
        length_known_ ? static_cast<std::size_t>(std::max<std::uint64_t>(length_, 1)) : kFirstBlock;
    first_ = tail_ = add_block(first);
}

BodyStream::~BodyStream() {
    core::give_string(head_);
    core::give_string(vary_);
    for (Block* b = first_; b != nullptr;) {
        Block* next = b->next;
        if (b != &storage_block_) {
            b->~Block();
            std::free(b);
        }
        b = next;
    }
}

void BodyStream::unref() const {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        delete this;
    }
}

BodyStream::Block* BodyStream::add_block(std::size_t capacity) {
    void* memory = std::malloc(sizeof(Block) + capacity);
    if (memory == nullptr) {
        throw std::bad_alloc();
    }
    auto* block = new (memory) Block;
    block->capacity = capacity;
    block->bytes = reinterpret_cast<char*>(block + 1);
    if (tail_ != nullptr) {
        tail_->next = block;
    }
    return block;
}

std::string_view BodyStream::read(Cursor& cursor) const {
    const std::uint64_t filled = filled_.load();
    if (cursor.position >= filled) {
        return {};
    }
    auto* block = static_cast<const Block*>(cursor.block != nullptr ? cursor.block : first_);
    if (cursor.offset == block->capacity) {
        block = block->next; // linked before filled_ moved past `block`
        cursor.offset = 0;
    }
    const std::size_t n = static_cast<std::size_t>(
        std::min<std::uint64_t>(block->capacity - cursor.offset, filled - cursor.position));
    const std::string_view bytes(block->bytes + cursor.offset, n);
    cursor.block = block;
    cursor.offset += n;
    cursor.position += n;
    return bytes;
}

std::span<char> BodyStream::room(std::size_t want) {
    if (tail_used_ == tail_->capacity) {
        tail_ = add_block(next_capacity_);
        tail_used_ = 0;
        next_capacity_ = std::min(next_capacity_ * 2, kLargestBlock);
    }
    return {tail_->bytes + tail_used_, std::min(want, tail_->capacity - tail_used_)};
}

void BodyStream::commit(std::size_t n) {
    tail_used_ += n;
    written_ += n;
    filled_.store(written_);
    notify();
}

void BodyStream::copy_to(char* dst) const {
    std::uint64_t left = written_;
    for (const Block* b = first_; b != nullptr && left > 0; b = b->next) {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(b->capacity, left));
        std::memcpy(dst, b->bytes, n);
        dst += n;
        left -= n;
    }
}

void BodyStream::complete(ObjectRef object) {
    object_ = std::move(object);
    end(State::Complete);
}

void BodyStream::fail() {
    end(State::Failed);
}

void BodyStream::end(State state) {
    if (state_.load(std::memory_order_relaxed) != State::Growing) {
        return;
    }
    state_.store(state, std::memory_order_release);
    std::lock_guard<std::mutex> lock(watchers_mutex_);
    for (const std::shared_ptr<StreamWatcher>& w : watchers_) {
        w->more();
    }
    watchers_.clear(); // nothing more will happen: no watcher is kept alive by the stream
}

void BodyStream::notify() {
    std::lock_guard<std::mutex> lock(watchers_mutex_);
    for (const std::shared_ptr<StreamWatcher>& w : watchers_) {
        w->more();
    }
}

void BodyStream::watch(std::shared_ptr<StreamWatcher> watcher) {
    std::lock_guard<std::mutex> lock(watchers_mutex_);
    if (state_.load(std::memory_order_acquire) != State::Growing) {
        watcher->more(); // it ended already: this is the only news there will be
        return;
    }
    watchers_.push_back(std::move(watcher));
}

void BodyStream::unwatch(const StreamWatcher* watcher) {
    std::lock_guard<std::mutex> lock(watchers_mutex_);
    std::erase_if(watchers_, [watcher](const auto& w) { return w.get() == watcher; });
}

} // namespace lacquer::cache
