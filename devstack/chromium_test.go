package devstack

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEnsureChromiumSaysWhyItCannotInstallOne: with no Chromium and no
// apt-get on PATH, EnsureChromium returns ErrNoChromium (on which the
// browser test skips) with what to do.
func TestEnsureChromiumSaysWhyItCannotInstallOne(t *testing.T) {
	t.Setenv(ChromiumEnv, "")
	t.Setenv("PATH", t.TempDir())
	_, err := EnsureChromium(context.Background(), io.Discard)
	require.ErrorIs(t, err, ErrNoChromium)
	assert.Contains(t, err.Error(), "no apt-get")
}

func TestEnsureChromiumTakesTheOneNamed(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "chromium")
	require.NoError(t, os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755))

	t.Setenv(ChromiumEnv, "")
	t.Setenv("PATH", dir)
	path, err := EnsureChromium(context.Background(), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, fake, path, "the one on PATH")

	t.Setenv(ChromiumEnv, fake)
	t.Setenv("PATH", t.TempDir())
	path, err = EnsureChromium(context.Background(), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, fake, path, "$CHROMIUM")

	t.Setenv(ChromiumEnv, filepath.Join(dir, "missing"))
	_, err = EnsureChromium(context.Background(), io.Discard)
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrNoChromium, "a wrong $CHROMIUM is a mistake to fix, not a reason to skip")
}
