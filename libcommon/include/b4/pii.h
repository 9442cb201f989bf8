/* pii.h - personal data at rest: CPF/CNPJ, phone and secrets encrypted
 * with the field keyring, and blind indexes for lookups.
 *
 * Keys come from the environment at start-up (b4_pii_init):
 *   B4_FIELD_KEYS       "k1:<64 hex>,k2:<64 hex>"  (last listed is active)
 *   B4_BLIND_INDEX_KEY  64 hex chars (32 bytes), never a field key
 * After init everything here is read-only and thread-safe.
 */
#ifndef B4_PII_H
#define B4_PII_H

#include <stdbool.h>
#include <stddef.h>

/* Loads the keys; prints one line naming the bad setting and returns -1
 * when a key is missing or malformed. */
int b4_pii_init(const char *prog);
bool b4_pii_ready(void);
void b4_pii_cleanup(void);

/* Encrypts value bound to `column` (used as associated data, so a value
 * cannot be moved to another column).  Returns malloc'd text or NULL. */
char *b4_pii_encrypt(const char *column, const char *value);
/* Decrypts; returns a malloc'd string the caller frees with
 * b4_pii_free, or NULL when the text was tampered with or the key is gone. */
char *b4_pii_decrypt(const char *column, const char *text);
void b4_pii_free(char *plain); /* wipes, then frees; accepts NULL */

/* Writes the blind index (64 hex) of an already normalised value, kept
 * apart per kind ("document", "email", "card"). Returns 0 or -1. */
int b4_pii_blind_index(const char *kind, const char *normalized, char out_hex[65]);

#endif
