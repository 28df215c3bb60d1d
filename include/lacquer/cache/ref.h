#pragma once
// An owning handle on an intrusively reference-counted T (T::ref() / T::unref(), both const).
// Moves are free; copies take a reference. release() hands the reference to someone else
// (libevent, for bytes it sends by reference).

#include <utility>

namespace lacquer::cache {

template <class T> class Ref {
public:
    Ref() = default;
    explicit Ref(T* adopted) : p_(adopted) {}
    Ref(const Ref& o) : p_(o.p_) {
        if (p_ != nullptr) {
            p_->ref();
        }
    }
    Ref(Ref&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
    Ref& operator=(Ref o) noexcept {
        std::swap(p_, o.p_);
        return *this;
    }
    ~Ref() {
        if (p_ != nullptr) {
            p_->unref();
        }
    }
    T* get() const { return p_; }
    T* operator->() const { return p_; }
    T& operator*() const { return *p_; }
    explicit operator bool() const { return p_ != nullptr; }
    T* release() {
        T* p = p_;
        p_ = nullptr;
        return p;
    }

private:
    T* p_ = nullptr;
};

} // namespace lacquer::cache
