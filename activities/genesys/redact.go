package genesys

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// userinfo matches the user[:password]@ of any URL in a text, its slashes
// JSON-escaped or not. net/http masks only the password in the URLs of its
// errors and keeps it in full where it quotes a header it could not parse
// (a redirect's Location), and a server may echo any URL. The match is
// greedy up to the last "@" of the authority, which is where url.Parse ends
// the userinfo too.
var userinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*:(?:\\?/){2})[^/?#\s"'<>\\]*@`)

// redactor removes credentials from text bound for an error. It holds every
// spelling of every credential, longest first, so that a form containing
// another is replaced whole.
type redactor []string

func newRedactor(credentials []Secret) redactor {
	var r redactor
	for _, c := range credentials {
		if c != "" {
			r = append(r, spellings(c.Reveal())...)
		}
	}
	slices.SortFunc(r, func(a, b string) int {
		return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b))
	})
	return slices.Compact(r)
}

// spellings are the ways a credential can reach an error's text: as is; as
// Go escapes it inside a JSON string, since a body without a message field
// is shown raw; that with "/" escaped too, as many other JSON encoders do
// and base64 often contains; and as %q quotes it, since a detail may quote
// a value from the body.
func spellings(s string) []string {
	b, _ := json.Marshal(s) // cannot fail for a string
	inJSON := string(b[1 : len(b)-1])
	quoted := strconv.Quote(s)
	return []string{s, inJSON, strings.ReplaceAll(inJSON, "/", `\/`), quoted[1 : len(quoted)-1]}
}

// basicForms is every way an HTTP Basic credential pair is commonly
// written: the password alone, user:password, and the base64 of the latter
// that the Authorization header carries, padded or not, standard or
// URL-safe.
func basicForms(user string, password Secret) []Secret {
	pair := user + ":" + password.Reveal()
	forms := []Secret{password, Secret(pair)}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		forms = append(forms, Secret(enc.EncodeToString([]byte(pair))))
	}
	return forms
}

func (r redactor) text(s string) string {
	for _, c := range r {
		s = strings.ReplaceAll(s, c, redacted)
	}
	return userinfo.ReplaceAllString(s, "${1}"+redacted+"@")
}

// err returns err with every credential removed from its text. A *url.Error
// is rebuilt around a redacted URL so that errors.As still finds it and the
// dial, TLS or timeout error inside it. An error whose own text holds a
// credential is replaced by its redacted text alone: left anywhere in the
// chain, whoever unwraps it could print the credential.
func (r redactor) err(err error) error {
	// Only a *url.Error at the top needs rebuilding: a deeper one is
	// covered by the text check on its wrapper.
	if u, ok := err.(*url.Error); ok {
		return &url.Error{Op: u.Op, URL: r.text(u.URL), Err: r.err(u.Err)}
	}
	if err == nil {
		return nil
	}
	msg := err.Error()
	if clean := r.text(msg); clean != msg {
		return errors.New(clean)
	}
	return err
}

// redactor covers the client credentials, the current and previous access
// tokens, and extra, which are credentials a particular request used.
func (c *Client) redactor(extra ...Secret) redactor {
	c.mu.Lock()
	tokens := []Secret{c.token.value, c.previous}
	c.mu.Unlock()
	return newRedactor(slices.Concat(c.credentials, tokens, extra))
}
