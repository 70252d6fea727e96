// Package progress shows how far a long command has got: a live bar with
// rate and ETA on a terminal, and a plain line now and then anywhere else
// (a pipe, a CI log), where a redrawn bar would be noise.
package progress

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// plainInterval is how often the plain form prints a line.
const plainInterval = 10 * time.Second

// Bar counts units of work (conversations) towards a total that may grow.
type Bar struct {
	w       io.Writer
	what    string
	unit    string
	total   int64
	current int64
	started time.Time
	bar     *progressbar.ProgressBar // nil in the plain form
	printed time.Time
	now     func() time.Time
}

// New starts a bar on w: what names the work ("backfill"), unit its units
// ("conversations"). total may be 0 while unknown.
func New(w io.Writer, what, unit string, total int64) *Bar {
	b := &Bar{w: w, what: what, unit: unit, total: total, now: time.Now}
	b.started = b.now()
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		b.bar = progressbar.NewOptions64(max(total, 1),
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(what),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString(unit),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionFullWidth(),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
		)
	}
	return b
}

// Set reports current units done of total (which may have grown).
func (b *Bar) Set(current, total int64) {
	b.current, b.total = current, max(total, current)
	if b.bar != nil {
		b.bar.ChangeMax64(max(b.total, 1))
		_ = b.bar.Set64(current)
		return
	}
	if now := b.now(); now.Sub(b.printed) >= plainInterval {
		b.printed = now
		fmt.Fprintln(b.w, b.line())
	}
}

// Finish completes the bar, or prints the last plain line.
func (b *Bar) Finish() {
	if b.bar != nil {
		_ = b.bar.Finish()
		return
	}
	fmt.Fprintln(b.w, b.line())
}

// line is the plain form: "backfill: 1200/20000 conversations, 412/s, ETA 41s".
func (b *Bar) line() string {
	elapsed := b.now().Sub(b.started)
	s := fmt.Sprintf("%s: %d/%d %s", b.what, b.current, b.total, b.unit)
	if elapsed <= 0 || b.current == 0 {
		return s
	}
	rate := float64(b.current) / elapsed.Seconds()
	s += fmt.Sprintf(", %.0f/s", rate)
	if left := b.total - b.current; left > 0 {
		s += ", ETA " + (time.Duration(float64(left)/rate) * time.Second).Truncate(time.Second).String()
	}
	return s
}
