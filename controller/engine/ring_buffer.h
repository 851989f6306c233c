#pragma once

#include <cstddef>
#include <vector>

namespace pso::controller::engine {

/// A fixed-capacity FIFO of the most recent values: push() is O(1) and, once
/// full, overwrites the oldest. Index 0 is the oldest kept value. Used for the
/// bounded histories the forecast models keep (refit windows, forecast errors).
template <typename T>
class RingBuffer {
 public:
  explicit RingBuffer(std::size_t capacity = 1) : data_(capacity == 0 ? 1 : capacity) {}

  std::size_t capacity() const { return data_.size(); }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  bool full() const { return size_ == data_.size(); }

  /// Appends `value`; when full, the oldest value is dropped and returned
  /// through `evicted` (if given) so callers can keep running sums exact.
  void push(const T& value, T* evicted = nullptr) {
    if (full()) {
      if (evicted != nullptr) *evicted = data_[head_];
      data_[head_] = value;
      if (++head_ == data_.size()) head_ = 0;
      return;
    }
    data_[wrap(head_ + size_)] = value;
    ++size_;
  }

  /// The i-th oldest value, 0 <= i < size().
  const T& operator[](std::size_t i) const { return data_[wrap(head_ + i)]; }
  /// The most recent value; size() must be > 0.
  const T& back() const { return (*this)[size_ - 1]; }
  /// Where the next push() writes (for a prefetch).
  const T* nextSlot() const { return &data_[full() ? head_ : wrap(head_ + size_)]; }

  void clear() {
    head_ = 0;
    size_ = 0;
  }

  /// Values oldest first, as U (a float history read as doubles).
  template <typename U = T>
  std::vector<U> toVector() const {
    std::vector<U> out;
    out.reserve(size_);
    for (std::size_t i = 0; i < size_; ++i) out.push_back((*this)[i]);
    return out;
  }

 private:
  // Indices stay below twice the capacity, so one subtraction replaces a
  // division (this sits in the forecast models' per-sample path).
  std::size_t wrap(std::size_t i) const { return i >= data_.size() ? i - data_.size() : i; }

  std::vector<T> data_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace pso::controller::engine
