package postgres

// BlobChunkSize is the most bytes one stored chunk holds, for tests of uploads that end
// on and around a chunk's boundary.
const BlobChunkSize = chunkSize
