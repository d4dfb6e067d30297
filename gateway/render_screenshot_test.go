package gateway

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// chromium is where Debian's package puts the browser the screenshots are taken with.
const chromium = "/usr/bin/chromium"

// screenshotSizes are the widths shown (a small phone, a desktop) and the window heights
// that hold the longest mail at that width.
var screenshotSizes = []struct{ width, height int }{{320, 1000}, {1024, 720}}

// TestRender_Screenshots renders the English HTML of every kind in headless Chromium at
// each width and checks an image came out that is not blank. With
// HELPDESKD_UPDATE_SCREENSHOTS=1 it writes them to docs/img/<kind>-<width>.png.
func TestRender_Screenshots(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		// ./scripts/test.sh installs it: there, a missing browser is a failure.
		if os.Getenv("CI") != "" {
			t.Fatal("no headless Chromium at " + chromium + " under CI")
		}
		t.Skip("no headless Chromium at " + chromium + " (apt-get install chromium, or run ./scripts/test.sh)")
	}
	if testing.Short() {
		t.Skip("screenshots take a browser start each")
	}
	update := os.Getenv("HELPDESKD_UPDATE_SCREENSHOTS") == "1"
	dir := t.TempDir()
	for _, kind := range Kinds {
		out := render(testOpts, sampleInput(kind, core.ChannelEmail, "en"))
		page := filepath.Join(dir, string(kind)+".html")
		if err := os.WriteFile(page, []byte(out.HTML), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, size := range screenshotSizes {
			name := string(kind) + "-" + strconv.Itoa(size.width) + ".png"
			shot := filepath.Join(dir, name)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu",
				"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
				"--hide-scrollbars", "--user-data-dir="+t.TempDir(),
				"--window-size="+strconv.Itoa(size.width)+","+strconv.Itoa(size.height),
				"--screenshot="+shot, "file://"+page)
			msg, err := cmd.CombinedOutput()
			cancel()
			if err != nil {
				t.Fatalf("%s: chromium: %v\n%s", name, err, msg)
			}
			b, err := os.ReadFile(shot)
			if err != nil {
				t.Fatalf("%s: no screenshot: %v\n%s", name, err, msg)
			}
			checkScreenshot(t, name, b, size.width)
			if update {
				dst := filepath.Join("..", "docs", "img", name)
				if err := os.WriteFile(dst, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// checkScreenshot makes sure a PNG is the width asked for and shows something: a blank or
// failed page is one or two colours.
func checkScreenshot(t *testing.T, name string, b []byte, width int) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if got := img.Bounds().Dx(); got != width {
		t.Errorf("%s: %d px wide, want %d", name, got, width)
	}
	if n := colours(img, 64); n < 16 {
		t.Errorf("%s: only %d colours: a blank page?", name, n)
	}
}

// colours counts the distinct colours of img, up to max.
func colours(img image.Image, max int) int {
	seen := map[[4]uint32]bool{}
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y += 3 {
		for x := r.Min.X; x < r.Max.X; x += 3 {
			c0, c1, c2, c3 := img.At(x, y).RGBA()
			seen[[4]uint32{c0, c1, c2, c3}] = true
			if len(seen) >= max {
				return len(seen)
			}
		}
	}
	return len(seen)
}
