#include "controller/store/record_block.h"

#include <lzma.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_map>
#include <utility>

namespace pso::controller::store {
namespace {

using nlohmann::json;

constexpr char kBlockMagic[4] = {'P', 'S', 'R', 'B'};
constexpr int kMinBlockDictLog2 = 12;
constexpr int kMaxBlockDictLog2 = 23;
constexpr uint32_t kBlockLzmaPreset = 6;
// Output grows by at most this much at a time while decompressing, so a blob
// claiming a large payload costs memory only as far as it really decodes.
constexpr std::size_t kBlockDecodeStep = 1u << 20;

// Cell tags of the kDecisionColumns layout (record_block.h).
constexpr uint8_t kCellAbsent = 0;
constexpr uint8_t kCellRepeat = 1;
constexpr uint8_t kCellText = 2;
constexpr uint8_t kCellDoubleXorPrevious = 3;
constexpr uint8_t kCellDoubleXorMirror = 4;
constexpr uint8_t kCellDoubleXorWidth = 5;
const char* const kMirroredKey = "forecast_lo";
const char* const kMirrorCentreKey = "forecast_point";
const char* const kMirrorEdgeKey = "forecast_hi";

Error blockCorrupt(const std::string& what) {
  return makeError("corrupt", "record block: " + what);
}

void putBlockVarint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void putBlockBits(std::string& out, uint64_t bits) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((bits >> shift) & 0xff));
  }
}

// Reads the payload front to back; every read checks the bounds first.
class BlockReader {
 public:
  explicit BlockReader(std::string_view in) : in_(in) {}

  bool byte(uint8_t& out) {
    if (pos_ >= in_.size()) return false;
    out = static_cast<uint8_t>(in_[pos_++]);
    return true;
  }
  bool varint(uint64_t& out) {
    out = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b = 0;
      if (!byte(b)) return false;
      if (shift == 63 && b > 1) return false;
      out |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }
  bool bytes(std::size_t n, std::string_view& out) {
    if (n > in_.size() - pos_) return false;
    out = in_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool bits(uint64_t& out) {
    std::string_view raw;
    if (!bytes(8, raw)) return false;
    out = 0;
    for (char c : raw) out = (out << 8) | static_cast<uint8_t>(c);
    return true;
  }
  std::size_t remaining() const { return in_.size() - pos_; }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
};

uint64_t doubleBits(double value) {
  return std::bit_cast<uint64_t>(value);
}

// The prediction of a forecast's lower bound: the upper bound mirrored
// around the point (exact for a symmetric interval).
uint64_t mirroredBits(double point, double hi) {
  return doubleBits(point - (hi - point));
}

std::string textsPayload(std::span<const std::string> texts) {
  std::string out;
  for (const auto& text : texts) {
    putBlockVarint(out, text.size());
    out += text;
  }
  return out;
}

Result<std::vector<std::string>> decodeTextsPayload(std::string_view payload, std::size_t count) {
  BlockReader in(payload);
  std::vector<std::string> texts;
  texts.reserve(std::min(count, payload.size()));
  for (std::size_t i = 0; i < count; ++i) {
    uint64_t length = 0;
    std::string_view text;
    if (!in.varint(length) || !in.bytes(length, text)) {
      return blockCorrupt("text " + std::to_string(i) + " is truncated");
    }
    texts.emplace_back(text);
  }
  if (in.remaining() != 0) return blockCorrupt("bytes after the last text");
  return texts;
}

// The dictionary of the column layout: each distinct string once.
class BlockStrings {
 public:
  uint64_t id(const std::string& text) {
    auto [it, added] = ids_.emplace(text, strings_.size());
    if (added) strings_.push_back(text);
    return it->second;
  }
  const std::vector<std::string>& strings() const { return strings_; }

 private:
  std::unordered_map<std::string, uint64_t> ids_;
  std::vector<std::string> strings_;
};

// The prediction of an interval bound from the bound before: this object's
// point plus the bound's distance from the point it had then (the interval's
// width changes little from one cycle to the next).
uint64_t widthBits(double point, double last_bound, double last_point) {
  return doubleBits(point + (last_bound - last_point));
}

bool isIntervalBound(std::string_view key) {
  return key == kMirrorEdgeKey || key == kMirroredKey;
}

// The object's point, when it has one as a double.
std::optional<double> pointOf(const json& object) {
  auto point = object.find(kMirrorCentreKey);
  if (point == object.end() || !point->is_number_float()) return std::nullopt;
  return point->get<double>();
}

// Whether `value` repeats the column's previous value: doubles by their bits
// (0.0 is not -0.0), the rest by their text. The last double and the point
// of its object feed the XOR predictions.
struct ColumnMemory {
  bool present = false;
  bool is_double = false;
  uint64_t bits = 0;
  std::string text;
  uint64_t last_double_bits = 0;
  std::optional<double> last_point;
};

// One column of the encoder: its cells so far and what they repeat.
struct EncodedColumn {
  uint64_t system = 0;
  uint64_t key = 0;
  std::string cells;
  ColumnMemory memory;
};

void encodeCell(EncodedColumn& column, const std::string& key, const json& value,
                const json& object, BlockStrings& strings) {
  std::string& out = column.cells;
  ColumnMemory& memory = column.memory;
  if (value.is_number_float()) {
    const uint64_t bits = doubleBits(value.get<double>());
    const std::optional<double> point = pointOf(object);
    if (memory.present && memory.is_double && memory.bits == bits) {
      out.push_back(static_cast<char>(kCellRepeat));
    } else {
      // The prediction leaving the fewest bits: the bound before shifted
      // with the point, the upper bound mirrored, or the value before.
      uint8_t tag = kCellDoubleXorPrevious;
      uint64_t residual = bits ^ memory.last_double_bits;
      auto consider = [&](uint8_t candidate, uint64_t predicted) {
        if (std::countl_zero(bits ^ predicted) > std::countl_zero(residual)) {
          tag = candidate;
          residual = bits ^ predicted;
        }
      };
      if (isIntervalBound(key) && point && memory.last_point) {
        consider(
            kCellDoubleXorWidth,
            widthBits(*point, std::bit_cast<double>(memory.last_double_bits), *memory.last_point));
      }
      auto hi = object.find(kMirrorEdgeKey);
      if (key == kMirroredKey && point && hi != object.end() && hi->is_number_float()) {
        consider(kCellDoubleXorMirror, mirroredBits(*point, hi->get<double>()));
      }
      out.push_back(static_cast<char>(tag));
      putBlockBits(out, residual);
    }
    memory.present = true;
    memory.is_double = true;
    memory.bits = bits;
    memory.last_double_bits = bits;
    memory.last_point = point;
    return;
  }
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::strict);
  if (memory.present && !memory.is_double && memory.text == text) {
    out.push_back(static_cast<char>(kCellRepeat));
    return;
  }
  out.push_back(static_cast<char>(kCellText));
  putBlockVarint(out, strings.id(text));
  memory.present = true;
  memory.is_double = false;
  memory.text = std::move(text);
}

// Calls `f(tag, operand)` for each cell of `cells` (an encoder's own cells,
// so well-formed), in order: the operand is the string id of a text cell,
// the XOR bits of a double, 0 for the others.
template <typename F>
void forEachCell(std::string_view cells, F&& f) {
  BlockReader in(cells);
  for (uint8_t tag = 0; in.byte(tag);) {
    uint64_t operand = 0;
    if (tag == kCellText) {
      in.varint(operand);
    } else if (tag >= kCellDoubleXorPrevious) {
      in.bits(operand);
    }
    f(tag, operand);
  }
}

// `cells` with each text cell's string id replaced by new_id[id].
void appendRenumberedCells(std::string& out, std::string_view cells,
                           const std::vector<uint64_t>& new_id) {
  forEachCell(cells, [&](uint8_t tag, uint64_t operand) {
    out.push_back(static_cast<char>(tag));
    if (tag == kCellText) {
      putBlockVarint(out, new_id[operand]);
    } else if (tag >= kCellDoubleXorPrevious) {
      putBlockBits(out, operand);
    }
  });
}

// Streams the records into columns (one record parsed at a time, so memory
// follows the payload, not the parsed JSON). nullopt when a text is not an
// array of objects with distinct string "system"s.
std::optional<std::string> encodeDecisionColumnsPayload(std::span<const std::string> texts) {
  BlockStrings strings;
  std::vector<EncodedColumn> columns;
  // Per system id: its columns by key, and how many records held it so far.
  struct SystemColumns {
    std::map<std::string, std::size_t> by_key;
    std::size_t records = 0;
  };
  std::unordered_map<uint64_t, SystemColumns> systems_by_id;
  std::vector<std::size_t> seen_in_record;  // string id -> record index + 1
  // Per record: its systems, or nothing when they repeat the record before.
  std::vector<std::optional<std::vector<uint64_t>>> record_systems;
  record_systems.reserve(texts.size());
  std::vector<uint64_t> previous_systems;
  for (std::size_t r = 0; r < texts.size(); ++r) {
    json record = json::parse(texts[r], nullptr, false);
    if (record.is_discarded() || !record.is_array()) return std::nullopt;
    std::vector<uint64_t> systems;
    systems.reserve(record.size());
    for (const auto& object : record) {
      if (!object.is_object()) return std::nullopt;
      auto name = object.find("system");
      if (name == object.end() || !name->is_string()) return std::nullopt;
      const uint64_t id = strings.id(name->get<std::string>());
      if (seen_in_record.size() <= id) seen_in_record.resize(id + 1, 0);
      if (seen_in_record[id] == r + 1) return std::nullopt;
      seen_in_record[id] = r + 1;
      systems.push_back(id);
      SystemColumns& own = systems_by_id[id];
      for (const auto& [key, value] : object.items()) {
        auto [it, added] = own.by_key.try_emplace(key, columns.size());
        if (added) {
          EncodedColumn& column = columns.emplace_back();
          column.system = id;
          column.key = strings.id(key);
          // Absent from the records of this system before this one.
          column.cells.assign(own.records, static_cast<char>(kCellAbsent));
        }
      }
      for (const auto& [key, index] : own.by_key) {
        EncodedColumn& column = columns[index];
        auto found = object.find(key);
        if (found == object.end()) {
          column.cells.push_back(static_cast<char>(kCellAbsent));
          continue;
        }
        encodeCell(column, key, *found, object, strings);
      }
      ++own.records;
    }
    if (r > 0 && systems == previous_systems) {
      record_systems.emplace_back();
    } else {
      record_systems.emplace_back(systems);
    }
    previous_systems = std::move(systems);
  }

  // The dictionary in the order the columns read it, after the system names
  // and keys: a system's rationale of one cycle then lies next to its
  // rationale of the cycle before, which LZMA2 matches at a short distance
  // (in order of first use, the two were a whole record apart).
  const std::vector<std::string>& dictionary = strings.strings();
  constexpr uint64_t kUnplaced = std::numeric_limits<uint64_t>::max();
  std::vector<uint64_t> new_id(dictionary.size(), kUnplaced);
  std::vector<uint64_t> order;
  order.reserve(dictionary.size());
  auto place = [&](uint64_t id) {
    if (new_id[id] != kUnplaced) return;
    new_id[id] = order.size();
    order.push_back(id);
  };
  for (const auto& systems : record_systems) {
    if (systems) std::for_each(systems->begin(), systems->end(), place);
  }
  for (const auto& column : columns) {
    place(column.system);
    place(column.key);
  }
  for (const auto& column : columns) {
    forEachCell(column.cells, [&](uint8_t tag, uint64_t operand) {
      if (tag == kCellText) place(operand);
    });
  }

  std::string payload;
  putBlockVarint(payload, order.size());
  for (uint64_t id : order) {
    putBlockVarint(payload, dictionary[id].size());
    payload += dictionary[id];
  }
  for (const auto& systems : record_systems) {
    if (!systems) {
      putBlockVarint(payload, 0);
      continue;
    }
    putBlockVarint(payload, systems->size() + 1);
    for (uint64_t id : *systems) putBlockVarint(payload, new_id[id]);
  }
  putBlockVarint(payload, columns.size());
  for (const auto& column : columns) {
    putBlockVarint(payload, new_id[column.system]);
    putBlockVarint(payload, new_id[column.key]);
    appendRenumberedCells(payload, column.cells, new_id);
  }
  return payload;
}

// One column of the payload, read before any record is rebuilt.
struct DecodedColumn {
  uint64_t key = 0;
  std::vector<uint8_t> tags;
  std::vector<uint64_t> operands;  // string id or XOR bits; 0 for absent or repeat
};

Result<std::string> compressPayload(std::string_view payload, int dict_log2) {
  lzma_options_lzma options;
  if (lzma_lzma_preset(&options, kBlockLzmaPreset)) {
    return makeError("io", "record block: no LZMA preset");
  }
  options.dict_size = 1u << dict_log2;
  options.pb = 0;
  lzma_filter filters[] = {{LZMA_FILTER_LZMA2, &options}, {LZMA_VLI_UNKNOWN, nullptr}};
  std::string out(lzma_stream_buffer_bound(payload.size()), '\0');
  std::size_t out_pos = 0;
  const lzma_ret ret = lzma_raw_buffer_encode(
      filters, nullptr, reinterpret_cast<const uint8_t*>(payload.data()), payload.size(),
      reinterpret_cast<uint8_t*>(out.data()), &out_pos, out.size());
  if (ret != LZMA_OK) {
    return makeError("io", "record block: compressing failed (LZMA code " +
                               std::to_string(static_cast<int>(ret)) + ")");
  }
  out.resize(out_pos);
  return out;
}

Result<std::string> decompressPayload(std::string_view compressed, int dict_log2,
                                      std::size_t size) {
  lzma_options_lzma options;
  if (lzma_lzma_preset(&options, kBlockLzmaPreset)) {
    return makeError("io", "record block: no LZMA preset");
  }
  options.dict_size = 1u << dict_log2;
  lzma_filter filters[] = {{LZMA_FILTER_LZMA2, &options}, {LZMA_VLI_UNKNOWN, nullptr}};
  lzma_stream stream = LZMA_STREAM_INIT;
  if (lzma_raw_decoder(&stream, filters) != LZMA_OK) {
    return blockCorrupt("the decompressor does not start");
  }
  std::string out;
  stream.next_in = reinterpret_cast<const uint8_t*>(compressed.data());
  stream.avail_in = compressed.size();
  lzma_ret ret = LZMA_OK;
  while (ret == LZMA_OK) {
    // One byte beyond the claimed size, so a stream that runs on is caught.
    const std::size_t target = std::min(size + 1, out.size() + kBlockDecodeStep);
    const std::size_t before = out.size();
    out.resize(target);
    stream.next_out = reinterpret_cast<uint8_t*>(out.data() + before);
    stream.avail_out = target - before;
    ret = lzma_code(&stream, LZMA_FINISH);
    out.resize(target - stream.avail_out);
    if (out.size() > size) break;
    if (ret == LZMA_OK && stream.avail_out != 0 && stream.avail_in == 0) break;
  }
  const bool ended = ret == LZMA_STREAM_END && stream.avail_in == 0;
  lzma_end(&stream);
  if (!ended || out.size() != size) {
    return blockCorrupt("the payload does not decompress to its " + std::to_string(size) +
                        " bytes");
  }
  return out;
}

}  // namespace

Result<std::string> encodeDecisionColumns(std::span<const std::string> texts) {
  try {
    auto payload = encodeDecisionColumnsPayload(texts);
    if (payload) return std::move(*payload);
  } catch (const json::exception&) {
  }
  return makeError("invalid", "record block: the texts are not per-system decision arrays");
}

Result<std::vector<std::string>> decodeDecisionColumns(std::string_view payload,
                                                       std::size_t count) {
  try {
    BlockReader in(payload);
    uint64_t string_count = 0;
    if (!in.varint(string_count) || string_count > in.remaining()) {
      return blockCorrupt("bad dictionary size");
    }
    std::vector<std::string_view> strings;
    strings.reserve(string_count);
    for (uint64_t i = 0; i < string_count; ++i) {
      uint64_t length = 0;
      std::string_view text;
      if (!in.varint(length) || !in.bytes(length, text)) {
        return blockCorrupt("dictionary string " + std::to_string(i) + " is truncated");
      }
      strings.push_back(text);
    }
    // The systems of each record; a pair (record, system) costs at least one
    // byte of a real payload, which bounds what "the same systems" may repeat.
    std::vector<std::vector<uint64_t>> record_systems(count);
    std::vector<std::size_t> seen_in_record(strings.size(), 0);  // string id -> record + 1
    std::size_t pairs = 0;
    for (std::size_t r = 0; r < count; ++r) {
      uint64_t m = 0;
      if (!in.varint(m)) return blockCorrupt("record " + std::to_string(r) + " is truncated");
      if (m == 0) {
        if (r == 0) return blockCorrupt("the first record repeats no record");
        record_systems[r] = record_systems[r - 1];
      } else {
        if (m - 1 > in.remaining())
          return blockCorrupt("record " + std::to_string(r) + " is truncated");
        for (uint64_t i = 0; i + 1 < m; ++i) {
          uint64_t id = 0;
          if (!in.varint(id) || id >= strings.size()) {
            return blockCorrupt("record " + std::to_string(r) + " names no system");
          }
          if (seen_in_record[id] == r + 1) {
            return blockCorrupt("record " + std::to_string(r) + " names a system twice");
          }
          seen_in_record[id] = r + 1;
          record_systems[r].push_back(id);
        }
      }
      pairs += record_systems[r].size();
      if (pairs > payload.size()) return blockCorrupt("more systems than the payload holds");
    }
    // How many records hold each system: the cells of each of its columns.
    std::unordered_map<uint64_t, std::size_t> cells_of;
    for (const auto& systems : record_systems) {
      for (uint64_t id : systems) ++cells_of[id];
    }
    uint64_t column_count = 0;
    if (!in.varint(column_count) || column_count > in.remaining()) {
      return blockCorrupt("bad column count");
    }
    // Columns by system, then by key; a pair (system, key) appears once.
    std::map<uint64_t, std::map<std::string_view, DecodedColumn>> columns;
    for (uint64_t c = 0; c < column_count; ++c) {
      const std::string where = "column " + std::to_string(c);
      uint64_t system = 0;
      uint64_t key = 0;
      if (!in.varint(system) || !in.varint(key) || key >= strings.size()) {
        return blockCorrupt(where + " is truncated or names no key");
      }
      auto cells = cells_of.find(system);
      if (cells == cells_of.end()) return blockCorrupt(where + " names a system of no record");
      auto [it, added] = columns[system].try_emplace(strings[key]);
      if (!added) return blockCorrupt(where + " repeats a column");
      DecodedColumn& column = it->second;
      column.key = key;
      if (cells->second > in.remaining()) return blockCorrupt(where + " is truncated");
      column.tags.reserve(cells->second);
      column.operands.reserve(cells->second);
      for (std::size_t i = 0; i < cells->second; ++i) {
        uint8_t tag = 0;
        uint64_t operand = 0;
        if (!in.byte(tag)) return blockCorrupt(where + " is truncated");
        switch (tag) {
          case kCellAbsent:
            break;
          case kCellRepeat:
            if (i == 0) return blockCorrupt(where + " repeats before its first value");
            break;
          case kCellText:
            if (!in.varint(operand) || operand >= strings.size()) {
              return blockCorrupt(where + " names no string");
            }
            break;
          case kCellDoubleXorPrevious:
          case kCellDoubleXorMirror:
          case kCellDoubleXorWidth:
            if (!in.bits(operand)) return blockCorrupt(where + " is truncated");
            break;
          default:
            return blockCorrupt(where + " has an unknown cell tag " + std::to_string(tag));
        }
        column.tags.push_back(tag);
        column.operands.push_back(operand);
      }
    }
    if (in.remaining() != 0) return blockCorrupt("bytes after the last column");

    // Rebuild record by record, each column's cells in order. The interval's
    // bounds are resolved after the other keys of their object (they are
    // predicted from its point), the upper before the lower.
    struct ColumnState {
      std::size_t next = 0;
      bool present = false;
      json value;
      uint64_t last_double_bits = 0;
      std::optional<double> last_point;
    };
    std::map<uint64_t, std::map<std::string_view, ColumnState>> states;
    std::unordered_map<uint64_t, json> parsed;  // string id -> its JSON value
    std::vector<std::string> texts;
    texts.reserve(count);
    std::size_t total = 0;
    for (std::size_t r = 0; r < count; ++r) {
      json record = json::array();
      for (uint64_t system : record_systems[r]) {
        json object = json::object();
        auto found = columns.find(system);
        if (found == columns.end()) {
          record.push_back(std::move(object));
          continue;
        }
        auto& system_states = states[system];
        auto resolve = [&](std::string_view key, DecodedColumn& column) -> Status {
          ColumnState& state = system_states[key];
          const std::size_t i = state.next++;
          const uint8_t tag = column.tags[i];
          const uint64_t operand = column.operands[i];
          auto where = [&] {
            // Not the key itself: it is stored bytes, and a message is one line.
            return "a column of system " + std::to_string(system) + " in record " +
                   std::to_string(r);
          };
          switch (tag) {
            case kCellAbsent:
              return Status();
            case kCellRepeat:
              if (!state.present) return blockCorrupt(where() + " repeats an absent value");
              break;
            case kCellText: {
              auto cached = parsed.find(operand);
              if (cached == parsed.end()) {
                json value = json::parse(strings[operand], nullptr, false);
                if (value.is_discarded()) return blockCorrupt(where() + " is not JSON");
                cached = parsed.emplace(operand, std::move(value)).first;
              }
              state.value = cached->second;
              state.present = true;
              break;
            }
            case kCellDoubleXorPrevious:
              state.value = std::bit_cast<double>(operand ^ state.last_double_bits);
              state.present = true;
              break;
            case kCellDoubleXorMirror: {
              const std::optional<double> point = pointOf(object);
              auto hi = object.find(kMirrorEdgeKey);
              if (key != kMirroredKey || !point || hi == object.end() || !hi->is_number_float()) {
                return blockCorrupt(where() + " mirrors no interval");
              }
              state.value =
                  std::bit_cast<double>(operand ^ mirroredBits(*point, hi->get<double>()));
              state.present = true;
              break;
            }
            case kCellDoubleXorWidth: {
              const std::optional<double> point = pointOf(object);
              if (!isIntervalBound(key) || !point || !state.last_point) {
                return blockCorrupt(where() + " shifts no interval bound");
              }
              state.value = std::bit_cast<double>(
                  operand ^ widthBits(*point, std::bit_cast<double>(state.last_double_bits),
                                      *state.last_point));
              state.present = true;
              break;
            }
            default:
              return blockCorrupt(where() + " has an unknown cell tag");
          }
          if (state.value.is_number_float()) {
            state.last_double_bits = doubleBits(state.value.get<double>());
            state.last_point = pointOf(object);
          }
          object[std::string(key)] = state.value;
          return Status();
        };
        DecodedColumn* upper = nullptr;
        DecodedColumn* lower = nullptr;
        for (auto& [key, column] : found->second) {
          if (key == kMirrorEdgeKey) {
            upper = &column;
          } else if (key == kMirroredKey) {
            lower = &column;
          } else if (auto st = resolve(key, column); !st.ok()) {
            return st.error();
          }
        }
        if (upper) {
          if (auto st = resolve(kMirrorEdgeKey, *upper); !st.ok()) return st.error();
        }
        if (lower) {
          if (auto st = resolve(kMirroredKey, *lower); !st.ok()) return st.error();
        }
        record.push_back(std::move(object));
      }
      std::string text = record.dump(-1, ' ', false, json::error_handler_t::strict);
      total += text.size();
      if (total > kMaxBlockPayload) return blockCorrupt("the records are too large");
      texts.push_back(std::move(text));
    }
    return texts;
  } catch (const json::exception& e) {
    // e.what() may quote stored bytes; the id says which JSON error it was.
    return blockCorrupt("a record does not rebuild (JSON error " + std::to_string(e.id) + ")");
  }
}

Result<std::string> encodeRecordBlock(std::span<const std::string> texts,
                                      RecordBlockLayout layout) {
  if (texts.size() > kMaxBlockRecords) {
    return makeError("oversize", "record block: " + std::to_string(texts.size()) +
                                     " records, at most " + std::to_string(kMaxBlockRecords));
  }
  std::optional<std::string> payload;
  if (layout == RecordBlockLayout::kDecisionColumns) {
    try {
      payload = encodeDecisionColumnsPayload(texts);
    } catch (const json::exception&) {
      payload.reset();
    }
    // Kept only when every text comes back byte for byte.
    if (payload) {
      auto back = decodeDecisionColumns(*payload, texts.size());
      if (!back || !std::equal(back->begin(), back->end(), texts.begin(), texts.end())) {
        payload.reset();
      }
    }
  }
  if (!payload) {
    layout = RecordBlockLayout::kTexts;
    payload = textsPayload(texts);
  }
  if (payload->size() > kMaxBlockPayload) {
    return makeError("oversize", "record block: a payload of " + std::to_string(payload->size()) +
                                     " bytes, at most " + std::to_string(kMaxBlockPayload));
  }
  int dict_log2 = kMinBlockDictLog2;
  while (dict_log2 < kMaxBlockDictLog2 && (std::size_t{1} << dict_log2) < payload->size()) {
    ++dict_log2;
  }
  auto compressed = compressPayload(*payload, dict_log2);
  if (!compressed) return compressed.error();
  std::string blob(kBlockMagic, sizeof kBlockMagic);
  blob.push_back(static_cast<char>(kRecordBlockVersion));
  blob.push_back(static_cast<char>(layout));
  blob.push_back(static_cast<char>(dict_log2));
  putBlockVarint(blob, texts.size());
  putBlockVarint(blob, payload->size());
  const uint32_t crc =
      lzma_crc32(reinterpret_cast<const uint8_t*>(payload->data()), payload->size(), 0);
  for (int shift = 0; shift < 32; shift += 8) blob.push_back(static_cast<char>(crc >> shift));
  blob += *compressed;
  return blob;
}

namespace {

struct BlockHeader {
  RecordBlockLayout layout = RecordBlockLayout::kTexts;
  int dict_log2 = 0;
  std::size_t count = 0;
  std::size_t payload_size = 0;
  uint32_t crc = 0;
  std::string_view compressed;
};

Result<BlockHeader> readBlockHeader(std::string_view blob) {
  BlockReader in(blob);
  std::string_view magic;
  if (!in.bytes(sizeof kBlockMagic, magic) ||
      std::memcmp(magic.data(), kBlockMagic, sizeof kBlockMagic) != 0) {
    return blockCorrupt("no PSRB magic");
  }
  uint8_t version = 0;
  uint8_t layout = 0;
  uint8_t dict_log2 = 0;
  if (!in.byte(version) || version != kRecordBlockVersion) {
    return blockCorrupt("unknown version");
  }
  if (!in.byte(layout) || layout > static_cast<uint8_t>(RecordBlockLayout::kDecisionColumns)) {
    return blockCorrupt("unknown layout");
  }
  if (!in.byte(dict_log2) || dict_log2 < kMinBlockDictLog2 || dict_log2 > kMaxBlockDictLog2) {
    return blockCorrupt("bad dictionary size");
  }
  BlockHeader header;
  header.layout = static_cast<RecordBlockLayout>(layout);
  header.dict_log2 = dict_log2;
  uint64_t count = 0;
  uint64_t size = 0;
  if (!in.varint(count) || count > kMaxBlockRecords) return blockCorrupt("bad record count");
  if (!in.varint(size) || size > kMaxBlockPayload) return blockCorrupt("bad payload size");
  if (count > size) return blockCorrupt("more records than the payload holds");
  header.count = count;
  header.payload_size = size;
  std::string_view crc;
  if (!in.bytes(4, crc)) return blockCorrupt("truncated header");
  for (int i = 3; i >= 0; --i) header.crc = (header.crc << 8) | static_cast<uint8_t>(crc[i]);
  header.compressed = blob.substr(blob.size() - in.remaining());
  return header;
}

}  // namespace

Result<RecordBlockLayout> readRecordBlockLayout(std::string_view blob) {
  auto header = readBlockHeader(blob);
  if (!header) return header.error();
  return header->layout;
}

Result<std::vector<std::string>> decodeRecordBlock(std::string_view blob) {
  auto header = readBlockHeader(blob);
  if (!header) return header.error();
  auto payload = decompressPayload(header->compressed, header->dict_log2, header->payload_size);
  if (!payload) return payload.error();
  const uint32_t crc =
      lzma_crc32(reinterpret_cast<const uint8_t*>(payload->data()), payload->size(), 0);
  if (crc != header->crc) return blockCorrupt("the payload's CRC does not match");
  if (header->layout == RecordBlockLayout::kDecisionColumns) {
    return decodeDecisionColumns(*payload, header->count);
  }
  return decodeTextsPayload(*payload, header->count);
}

}  // namespace pso::controller::store
