package store

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestREADMEListsEveryAttribute: the README's table of the stored item is
// the contract analysts read, so it names exactly the attributes a Record
// is written with.
func TestREADMEListsEveryAttribute(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## The stored item\n")
	if !ok {
		t.Fatal(`README.md has no "## The stored item" section`)
	}
	section, _, _ = strings.Cut(section, "\n### ")
	section, _, _ = strings.Cut(section, "\n## ")
	// Attribute names in the first column of the section's table rows.
	row := regexp.MustCompile("(?m)^\\| ([^|]+)\\|")
	name := regexp.MustCompile("`([A-Za-z]+)`")
	documented := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		for _, n := range name.FindAllStringSubmatch(m[1], -1) {
			documented[n[1]] = true
		}
	}
	var written []string
	rt := reflect.TypeFor[Record]()
	for i := range rt.NumField() {
		tag, _, _ := strings.Cut(rt.Field(i).Tag.Get("dynamodbav"), ",")
		if tag != "" && tag != "-" {
			written = append(written, tag)
		}
	}
	for _, a := range written {
		if !documented[a] {
			t.Errorf("README.md's stored item table does not list %s", a)
		}
		delete(documented, a)
	}
	for a := range documented {
		if !slices.Contains(written, a) {
			t.Errorf("README.md's stored item table lists %s, which a Record does not have", a)
		}
	}
}
