// Package flashimage reads the files ECU software is shipped in (Intel HEX, Motorola
// S-record and raw binary) into the sorted, merged memory segments a UDS download sends, one
// 0x34 per segment.
//
// It is strict because its output is written into an ECU's flash: a bad checksum, an
// overlap, a record past the 32-bit address space or a truncated file is refused with the
// line that caused it, never repaired. It is bounded because images come from the network:
// gaps between addresses are never filled, so memory use follows the bytes the file really
// holds, and Options.MaxSize caps those.
package flashimage
