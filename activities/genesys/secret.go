package genesys

import (
	"fmt"
	"io"
	"log/slog"
)

const redacted = "[redacted]"

// Secret holds a credential. Every way the standard library turns a value
// into text (fmt verbs, JSON, encoding.TextMarshaler, slog) yields
// "[redacted]", so a Secret cannot leak through logs, errors or Temporal
// payloads by accident. Reveal is the only way to read it.
type Secret string

// Reveal returns the credential itself; call it only where the value is sent.
func (s Secret) Reveal() string { return string(s) }

func (Secret) String() string { return redacted }

func (Secret) GoString() string { return redacted }

// Format makes every verb, including %x and %q, print the placeholder; a
// String method alone would leave those verbs printing the raw bytes.
func (Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }
