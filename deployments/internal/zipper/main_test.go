package main

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestArchiveIsReproducibleAndExecutable(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bootstrap")
	if err := os.WriteFile(bin, bytes.Repeat([]byte("ELF not really "), 1000), 0o755); err != nil {
		t.Fatal(err)
	}

	first, size, err := writeFile(filepath.Join(dir, "a", "forwarder.zip"), []string{bin})
	if err != nil {
		t.Fatal(err)
	}
	// A later mtime and another umask-derived mode must not change the bytes.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(bin, later, later); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(bin, 0o700); err != nil {
		t.Fatal(err)
	}
	second, _, err := writeFile(filepath.Join(dir, "b", "forwarder.zip"), []string{bin})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Fatalf("two archives of the same file differ: %x vs %x", first, second)
	}

	zr, err := zip.OpenReader(filepath.Join(dir, "a", "forwarder.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	fi, _ := os.Stat(filepath.Join(dir, "a", "forwarder.zip"))
	if fi.Size() != size {
		t.Errorf("reported size %d, file has %d", size, fi.Size())
	}
	if len(zr.File) != 1 {
		t.Fatalf("want 1 entry, got %d", len(zr.File))
	}
	f := zr.File[0]
	if f.Name != "bootstrap" {
		t.Errorf("entry name %q, want bootstrap", f.Name)
	}
	if got := f.Mode().Perm(); got != 0o755 {
		t.Errorf("entry mode %v, want 0755 (Lambda runs bootstrap)", got)
	}
	if f.CreatorVersion>>8 != 3 {
		t.Errorf("creator OS %d, want 3 (Unix) so the mode is honoured", f.CreatorVersion>>8)
	}
	if !f.Modified.Equal(epoch) {
		t.Errorf("entry time %v, want %v", f.Modified, epoch)
	}
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	want, _ := os.ReadFile(bin)
	if !bytes.Equal(got, want) {
		t.Error("entry content differs from the input")
	}
}

func TestRejectsDuplicateNamesAndDirectories(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"x", "y"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, d, "bootstrap"), []byte("x"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := writeFile(filepath.Join(dir, "o.zip"), []string{filepath.Join(dir, "x", "bootstrap"), filepath.Join(dir, "y", "bootstrap")}); err == nil {
		t.Error("duplicate entry names accepted")
	}
	if _, _, err := writeFile(filepath.Join(dir, "o.zip"), []string{dir}); err == nil {
		t.Error("a directory accepted as input")
	}
	if _, err := os.Stat(filepath.Join(dir, "o.zip")); !os.IsNotExist(err) {
		t.Error("a failed run left an output file")
	}
}
