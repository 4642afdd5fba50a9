/* core/model/tokenizer.h — text ↔ token ids from a GGUF vocabulary.
 *
 * Two vocabulary kinds, chosen by tokenizer.ggml.model:
 *   "gpt2"  — byte-level BPE: the text is split by a pre-tokenizer regex
 *             (tokenizer.ggml.pre: the gpt-2, smollm or llama3 families, by
 *             llama.cpp's names for them), each
 *             piece's bytes are mapped to GPT-2's printable byte alphabet, then
 *             merged by rank (tokenizer.ggml.merges).
 *   "llama" — SentencePiece-style BPE: spaces become U+2581, adjacent symbols
 *             merge greedily by token score, and text no token covers falls
 *             back to <0xXX> byte tokens.
 * The splitting and merging follow llama.cpp's tokenizer so ids match its
 * output exactly (tests/reference/tokenizer_golden.json).
 *
 * A tokenizer owns copies of everything it needs: the GGUF file may be closed
 * after tokenizer_from_gguf returns. All functions are safe to call from
 * several threads at once on one tokenizer (it is read-only after creation). */
#ifndef INFERTOP_TOKENIZER_H
#define INFERTOP_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gguf_file;
struct tokenizer;

enum tokenizer_kind { TOKENIZER_BPE, TOKENIZER_SPM };

/* Pre-tokenizer regex families for byte-level BPE. */
enum tokenizer_pre {
    TOKENIZER_PRE_GPT2,     /* 's|'t|... | ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
    TOKENIZER_PRE_SMOLLM,   /* the GPT-2 regex after isolating every \p{N} codepoint */
    TOKENIZER_PRE_LLAMA3,   /* llama3: \p{N}{1,3}, [^\r\n\p{L}\p{N}]?\p{L}+, ...; ignore_merges */
};

/* tokenizer.ggml.token_type values (llama.cpp's llama_token_type). */
enum token_type {
    TOKEN_TYPE_UNDEFINED = 0, TOKEN_TYPE_NORMAL = 1, TOKEN_TYPE_UNKNOWN = 2,
    TOKEN_TYPE_CONTROL = 3, TOKEN_TYPE_USER_DEFINED = 4, TOKEN_TYPE_UNUSED = 5,
    TOKEN_TYPE_BYTE = 6,
};

/* Everything a tokenizer is built from, as plain arrays (the GGUF loader
 * fills one; tests build small ones by hand). Arrays are borrowed for the
 * call only. Ids of -1 mean "none". */
struct tokenizer_spec {
    enum tokenizer_kind kind;
    enum tokenizer_pre pre;            /* BPE only */
    int32_t n_tokens;
    const char *const *tokens;         /* [n_tokens] token texts */
    const size_t *token_lens;          /* [n_tokens] byte lengths, or NULL: strlen */
    const int32_t *types;              /* [n_tokens] enum token_type, or NULL: all NORMAL */
    const float *scores;               /* [n_tokens] SPM merge scores, or NULL: all 0 */
    int32_t n_merges;
    const char *const *merges;         /* [n_merges] "left right", best rank first (BPE) */
    int32_t bos_id, eos_id, eot_id, eom_id, unk_id;
    bool add_bos;                      /* the model wants BOS prepended */
    bool add_space_prefix;             /* SPM: prefix text with a space */
    const char *chat_template;         /* Jinja source, or NULL */
};

/* Build from a spec. Validates lengths, ids and types; on error returns NULL
 * and writes one line to err naming the field and what was expected. */
struct tokenizer *tokenizer_from_arrays(const struct tokenizer_spec *spec, char *err,
                                        size_t errlen);

/* Build from a GGUF file's tokenizer.* metadata. On error returns NULL and
 * writes "<key>: <what was expected>" to err (the caller prefixes the path). */
struct tokenizer *tokenizer_from_gguf(const struct gguf_file *f, char *err, size_t errlen);

void tokenizer_free(struct tokenizer *t);

/* Encode len bytes of text. add_bos prepends the BOS id (if the vocabulary
 * has one). parse_special matches CONTROL/UNKNOWN token texts ("<|im_start|>")
 * as single tokens; USER_DEFINED tokens are always matched, as in llama.cpp.
 * Writes at most cap ids to out and returns the total count; a result > cap
 * means out was too small (call again with that many). Invalid UTF-8 bytes
 * are encoded as U+FFFD by byte-level BPE. Returns -1 on allocation failure. */
int tokenizer_encode(const struct tokenizer *t, const char *text, size_t len, bool add_bos,
                     bool parse_special, int32_t *out, int cap);

/* The bytes token id stands for: byte-level BPE maps GPT-2's byte alphabet
 * back to raw bytes, SPM turns U+2581 into spaces and <0xXX> into a byte,
 * CONTROL/USER_DEFINED tokens give their text ("<|im_end|>"). Writes at most
 * cap bytes (no NUL) and returns the piece's full length; -1 if id is out of
 * range. A piece may be part of a multi-byte UTF-8 character. */
int tokenizer_decode_token(const struct tokenizer *t, int32_t id, char *buf, int cap);

int32_t tokenizer_n_tokens(const struct tokenizer *t);
int32_t tokenizer_bos(const struct tokenizer *t);     /* -1 if none */
int32_t tokenizer_eos(const struct tokenizer *t);
int32_t tokenizer_eot(const struct tokenizer *t);     /* end of turn, e.g. <|im_end|> */
bool    tokenizer_add_bos(const struct tokenizer *t); /* the model wants BOS first */
/* End of generation: eos, eot, eom, or a token whose text is a known
 * end-of-turn marker (llama.cpp's list, e.g. <|endoftext|>, <|im_end|>). */
bool    tokenizer_is_eog(const struct tokenizer *t, int32_t id);
/* CONTROL-type (after end-of-turn detection), i.e. not text to show a user. */
bool    tokenizer_is_control(const struct tokenizer *t, int32_t id);
enum tokenizer_kind tokenizer_kind(const struct tokenizer *t);

/* Render one user message as a prompt awaiting the assistant's reply, in the
 * format the vocabulary's tokenizer.chat_template describes:
 *   ChatML (<|im_start|>): the template's default system turn when it has one
 *     (SmolLM2: "You are a helpful AI assistant named SmolLM, trained by
 *     Hugging Face"), then "<|im_start|>user\n{msg}<|im_end|>\n
 *     <|im_start|>assistant\n";
 *   Llama 3 (<|start_header_id|>): user and assistant headers, no BOS;
 *   Llama 2 ([INST]): "[INST] {msg} [/INST]".
 * Encode the result with parse_special. Writes a NUL-terminated string and
 * returns its length like snprintf (>= cap: truncated); -1 when the vocabulary
 * has no template or one of an unknown format. */
int tokenizer_apply_chat(const struct tokenizer *t, const char *user_msg, char *out, size_t cap);

#endif
