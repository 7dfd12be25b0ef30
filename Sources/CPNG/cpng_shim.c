#include "cpng_shim.h"
// See cpng_shim.h. libpng's classic read API with an error handler that longjmps back here.
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct shim_state {
    const unsigned char *data;
    size_t size, position;
    char *message;
};

static void shim_error(png_structp png, png_const_charp text) {
    struct shim_state *state = (struct shim_state *)png_get_error_ptr(png);
    snprintf(state->message, CPNG_MESSAGE_SIZE, "%s", text);
    png_longjmp(png, 1);
}

static void shim_warning(png_structp png, png_const_charp text) { (void)png; (void)text; }

static void shim_read(png_structp png, png_bytep out, png_size_t length) {
    struct shim_state *state = (struct shim_state *)png_get_io_ptr(png);
    if (length > state->size - state->position) png_error(png, "unexpected end of file (truncated PNG)");
    memcpy(out, state->data + state->position, length);
    state->position += length;
}

int cpng_decode_rgb(const unsigned char *data, size_t size, size_t max_pixels, unsigned char **pixels,
                    int *width, int *height, char message[CPNG_MESSAGE_SIZE]) {
    struct shim_state state = { data, size, 0, message };
    // volatile: these change between setjmp and a possible longjmp.
    png_structp volatile png = NULL;
    png_infop volatile info = NULL;
    unsigned char *volatile out = NULL;
    png_bytep *volatile rows = NULL;
    unsigned char *volatile wide = NULL;
    *pixels = NULL; *width = 0; *height = 0; message[0] = 0;
    if (size < 8 || png_sig_cmp(data, 0, 8) != 0) {
        snprintf(message, CPNG_MESSAGE_SIZE, "not a PNG signature");
        return -1;
    }
    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, shim_error, shim_warning);
    if (png) info = png_create_info_struct(png);
    if (!png || !info) {
        snprintf(message, CPNG_MESSAGE_SIZE, "libpng could not be initialised (out of memory)");
        png_structp p = png; png_infop i = info;
        png_destroy_read_struct(p ? &p : NULL, i ? &i : NULL, NULL);
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_structp p = png; png_infop i = info;
        png_destroy_read_struct(&p, &i, NULL);
        free(out); free(rows); free(wide);
        return -1;
    }
    png_set_read_fn(png, &state, shim_read);
    png_set_crc_action(png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);   // a damaged chunk is an error, as in PIL
    png_set_user_limits(png, 1u << 16, 1u << 16);
    png_set_chunk_malloc_max(png, 64u << 20);   // ancillary chunks (zTXt, iCCP): no decompression bombs
    png_read_info(png, info);

    png_uint_32 w = 0, h = 0;
    int depth = 0, color = 0, interlace = 0;
    png_get_IHDR(png, info, &w, &h, &depth, &color, &interlace, NULL, NULL);
    if (w == 0 || h == 0 || (size_t)w * (size_t)h > max_pixels) {
        snprintf(message, CPNG_MESSAGE_SIZE, "a %ux%u image (more than the %zu pixels a decoded image may have)",
                 (unsigned)w, (unsigned)h, max_pixels);
        png_longjmp(png, 1);
    }
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if ((color & PNG_COLOR_MASK_COLOR) == 0) {
        if (depth < 8) png_set_expand_gray_1_2_4_to_8(png);
        png_set_gray_to_rgb(png);
    }
    // Alpha is dropped: the file's own, and the one palette expansion makes from tRNS (a no-op
    // for rows without alpha).
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    const int sixteen = png_get_bit_depth(png, info) == 16;
    const size_t row_bytes = png_get_rowbytes(png, info);
    const size_t expected = (size_t)w * 3 * (sixteen ? 2 : 1);
    if (png_get_channels(png, info) != 3 || row_bytes != expected) {
        snprintf(message, CPNG_MESSAGE_SIZE, "unsupported PNG layout (color type %d, bit depth %d)", color, depth);
        png_longjmp(png, 1);
    }
    out = malloc((size_t)w * (size_t)h * 3);
    rows = malloc((size_t)h * sizeof(png_bytep));
    if (sixteen) wide = malloc(row_bytes * (size_t)h);
    if (!out || !rows || (sixteen && !wide)) {
        snprintf(message, CPNG_MESSAGE_SIZE, "out of memory for a %ux%u image", (unsigned)w, (unsigned)h);
        png_longjmp(png, 1);
    }
    unsigned char *target = sixteen ? wide : out;
    for (png_uint_32 y = 0; y < h; y++) rows[y] = target + (size_t)y * row_bytes;
    png_read_image(png, rows);
    // The chunks after the image data are not read: like PIL, a file cut after its last IDAT
    // still gives its (complete, checksummed) pixels.
    if (sixteen) {
        // Big-endian 16-bit samples (PNG's byte order) → the nearest 8-bit value, round(v / 257).
        const size_t n = (size_t)w * (size_t)h * 3;
        for (size_t i = 0; i < n; i++) {
            const unsigned v = ((unsigned)wide[2 * i] << 8) | wide[2 * i + 1];
            out[i] = (unsigned char)((v + 128) / 257);
        }
    }
    png_structp p = png; png_infop i = info;
    png_destroy_read_struct(&p, &i, NULL);
    free(rows); free(wide);
    *pixels = out; *width = (int)w; *height = (int)h;
    return 0;
}

void cpng_free(void *pointer) { free(pointer); }
