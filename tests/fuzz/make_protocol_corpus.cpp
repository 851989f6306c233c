// Writes the protocol fuzz seed corpus: one encoded frame per sample message
// (tests/protocol/message_samples.h) into the directory given as argument.
// Usage: protocol_corpus_gen tests/fuzz/corpus/protocol

#include <filesystem>
#include <fstream>
#include <iostream>

#include "protocol/codec.h"
#include "tests/protocol/message_samples.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: protocol_corpus_gen DIR\n";
    return 2;
  }
  const std::filesystem::path dir(argv[1]);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    std::cerr << "protocol_corpus_gen: cannot create " << dir << ": " << ec.message() << "\n";
    return 1;
  }
  for (const auto& [name, message] : pso::protocol::testing::allSamples()) {
    const std::filesystem::path file = dir / (name + ".msgpack");
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    const std::string bytes = pso::protocol::encode(message);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
      std::cerr << "protocol_corpus_gen: cannot write " << file << "\n";
      return 1;
    }
  }
  return 0;
}
