package genesys

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRedactor_RemovesURLUserinfoOnly(t *testing.T) {
	tests := []struct{ in, want string }{
		{`Get "http://user:pass@host:8080/x": refused`, `Get "http://[redacted]@host:8080/x": refused`},
		{`https://user@host/x`, `https://[redacted]@host/x`},
		{`http://user:***@host`, `http://[redacted]@host`},
		{`socks5://a:b@proxy and http://c:d@other/`, `socks5://[redacted]@proxy and http://[redacted]@other/`},
		{`http://us@er:p@ss@host/`, `http://[redacted]@host/`},
		{`{"url":"http:\/\/user:pass@host\/x"}`, `{"url":"http:\/\/[redacted]@host\/x"}`},
		{`http://host/path?mail=a@b.example#x@y`, `http://host/path?mail=a@b.example#x@y`},
		{`write to ops@example.com`, `write to ops@example.com`},
		{`http://host/ then bob@example.com`, `http://host/ then bob@example.com`},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, redactor(nil).text(tc.in), tc.in)
	}
}

func TestRedactor_ReplacesLongestFormFirst(t *testing.T) {
	r := newRedactor([]Secret{"abc", "xabcx", ""})

	assert.Equal(t, "[redacted] [redacted] q", r.text("xabcx abc q"))
}
