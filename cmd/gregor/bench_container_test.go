package main

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestRebuildImage: the gregor:dev image is rebuilt when its revision
// label is not the running binary's revision, and reused, saying why,
// when they match or the binary records no revision.
func TestRebuildImage(t *testing.T) {
	const rev, old = "7abed1a9882e43c9b5afbe509540b76269c87e15", "c199c5400000000000000000000000000000000a"
	label := func(r string) map[string]string {
		return map[string]string{"org.opencontainers.image.title": "gregor", imageRevisionLabel: r}
	}
	for _, tc := range []struct {
		name        string
		labels      map[string]string
		revision    string
		wantRebuild bool
		wantReason  []string // each in the reason
	}{
		{name: "same revision", labels: label(rev), revision: rev, wantReason: []string{"reused", rev}},
		{name: "older image", labels: label(old), revision: rev, wantRebuild: true, wantReason: []string{old, rev}},
		{name: "image from a dirty tree", labels: label(rev + "-dirty"), revision: rev, wantRebuild: true, wantReason: []string{rev + "-dirty"}},
		{name: "binary from a dirty tree", labels: label(rev), revision: rev + "-dirty", wantRebuild: true, wantReason: []string{rev + "-dirty"}},
		{name: "both dirty", labels: label(rev + "-dirty"), revision: rev + "-dirty", wantReason: []string{"reused", "uncommitted changes are not compared"}},
		{name: "empty revision label", labels: label(""), revision: rev, wantRebuild: true, wantReason: []string{"no revision label", rev}},
		{name: "no labels", labels: nil, revision: rev, wantRebuild: true, wantReason: []string{"no revision label"}},
		{name: "binary without revision", labels: label(old), revision: "", wantReason: []string{"reused", "no git revision", old}},
		{name: "neither has a revision", labels: nil, revision: "", wantReason: []string{"reused", "no git revision"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rebuild, reason := rebuildImage(tc.labels, tc.revision)
			assert.Equal(t, tc.wantRebuild, rebuild, reason)
			for _, w := range tc.wantReason {
				assert.Contains(t, reason, w)
			}
		})
	}
}

// TestRevisionOf: the binary's revision in scripts/build-image's form.
func TestRevisionOf(t *testing.T) {
	for _, tc := range []struct {
		name     string
		settings []debug.BuildSetting
		want     string
	}{
		{name: "clean", settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "false"}}, want: "abc"},
		{name: "modified", settings: []debug.BuildSetting{{Key: "vcs.modified", Value: "true"}, {Key: "vcs.revision", Value: "abc"}}, want: "abc-dirty"},
		{name: "no vcs", settings: []debug.BuildSetting{{Key: "-trimpath", Value: "true"}}, want: ""},
		{name: "modified without revision", settings: []debug.BuildSetting{{Key: "vcs.modified", Value: "true"}}, want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, revisionOf(tc.settings))
		})
	}
}
