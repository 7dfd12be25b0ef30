// libpng behind a small C shim: its classic API reports errors by longjmp, which Swift cannot
// catch, and its simplified `png_image` API converts colour spaces (16-bit samples are taken as
// linear light and gamma-encoded to 8 bits, gAMA chunks are applied) where PIL and numpy users
// expect the stored values. Here every libpng error returns to the shim and comes out as a
// return code plus a message, and samples are converted only by the rules written below.
#pragma once
#include <stddef.h>
#include <png.h>

#define CPNG_MESSAGE_SIZE 256

/// Decodes a PNG held in memory to 8-bit interleaved RGB, as PIL's `Image.open(f).convert("RGB")`
/// does for 8-bit files: palette entries are looked up, gray is repeated into R, G and B (1, 2
/// and 4-bit gray scaled to 0...255), alpha (and tRNS transparency) is dropped without
/// compositing, and no gamma, sRGB or ICC conversion is applied. 16-bit samples v become
/// round(v / 257) = (v + 128) / 257, the nearest 8-bit value. Chunk CRC errors are errors.
/// Images of more than `max_pixels` pixels are refused before any pixel memory is allocated.
/// On success returns 0 and sets *pixels (malloc'd, width*height*3 bytes; free with cpng_free),
/// *width and *height. On failure returns -1, *pixels is NULL and `message` says why.
int cpng_decode_rgb(const unsigned char *data, size_t size, size_t max_pixels, unsigned char **pixels,
                    int *width, int *height, char message[CPNG_MESSAGE_SIZE]);

void cpng_free(void *pointer);
