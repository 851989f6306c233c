#pragma once

// The checks behind the fuzz harnesses of the controller store's decoders of
// stored bytes (the sample-chunk codec, the sample log, the record-block
// codec), shared by the libFuzzer executables (built with PSO_FUZZ) and by
// store_fuzz_corpus_test, which runs every seed through them in each build.

#include <string_view>

namespace pso::controller::store::fuzz {

/// decodeChunk() over `input` as a sample-chunk blob. Holds when nothing
/// throws or crashes, a refusal has code "corrupt" and a one-line message
/// starting with "sample chunk: ", readChunkHeader() accepts every blob
/// decodeChunk() accepts and agrees on its count, and decoded samples encode
/// again and decode to the same timestamps and value bits.
bool checkSampleChunk(std::string_view input);

/// decodeSampleLog() over `input` as a sample-log record. Holds when nothing
/// throws or crashes, a refusal has code "corrupt" and a one-line message
/// starting with "sample log: ", and decoded entries encode again to a
/// record that decodes to the same series, timestamps and value bits.
bool checkSampleLog(std::string_view input);

/// decodeRecordBlock() over `input` as a record-block blob, and, since a
/// blob's CRC keeps most mutations from reaching the column layout,
/// decodeDecisionColumns() over `input` as an uncompressed payload of the
/// count its first byte says. Holds when nothing throws or crashes, every
/// refusal has code "corrupt" and a one-line message starting with "record
/// block: ", and decoded texts encode again (in the block's layout) and
/// decode to the same texts.
bool checkRecordBlock(std::string_view input);

}  // namespace pso::controller::store::fuzz
