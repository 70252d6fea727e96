package genesys

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSecret_RevealReturnsValue(t *testing.T) {
	assert.Equal(t, "hunter2", Secret("hunter2").Reveal())
}

func TestSecret_EveryFmtVerbPrintsRedacted(t *testing.T) {
	s := Secret("hunter2")
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s", "%T-%v"} {
		t.Run(verb, func(t *testing.T) {
			out := fmt.Sprintf(verb, s, s)
			assert.NotContains(t, out, "hunter2")
			assert.NotContains(t, out, fmt.Sprintf("%x", "hunter2"))
		})
	}
	assert.Equal(t, "[redacted]", s.String())
	assert.Equal(t, "[redacted]", s.GoString())
}

func TestSecret_InsideStructsPrintsRedacted(t *testing.T) {
	cfg := Config{ClientID: "id", ClientSecret: "hunter2"}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, cfg)
		assert.NotContains(t, out, "hunter2", verb)
		assert.Contains(t, out, "[redacted]", verb)
	}
}

func TestSecret_JSONAndTextMarshalRedacted(t *testing.T) {
	b, err := json.Marshal(struct {
		S Secret
		P *Secret
	}{S: "hunter2", P: new(Secret("hunter2"))})
	require.NoError(t, err)
	assert.JSONEq(t, `{"S":"[redacted]","P":"[redacted]"}`, string(b))

	text, err := Secret("hunter2").MarshalText()
	require.NoError(t, err)
	assert.Equal(t, "[redacted]", string(text))
}

func TestSecret_SlogHandlersPrintRedacted(t *testing.T) {
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("m", "secret", Secret("hunter2"))
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("m", "secret", Secret("hunter2"), "cfg", Config{ClientSecret: "hunter2"})
	assert.NotContains(t, buf.String(), "hunter2")
	assert.Contains(t, buf.String(), "[redacted]")
}
