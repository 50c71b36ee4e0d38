package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/adrg/xdg"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

type pipConfigOptions struct {
	listen string
	write  bool
	yes    bool
	tool   string
}

func newPipConfigCmd(g *globals) *cobra.Command {
	o := &pipConfigOptions{}
	cmd := &cobra.Command{
		Use:   "pip-config",
		Short: "Print (or write) the pip and uv settings that use the proxy",
		Long: `Print the settings that point pip and uv at "tufpip proxy": pip.conf,
uv.toml and environment variables. With --write, write them to the user's
pip.conf ($XDG_CONFIG_HOME/pip/pip.conf) and uv.toml
($XDG_CONFIG_HOME/uv/uv.toml) after asking; --yes answers for you.

An existing file is never overwritten: tufpip refuses and shows what to
add by hand. pip and uv must not also be given an extra index or
find-links, or they could fetch around the proxy.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runPipConfig(cmd, g, o) },
	}
	cmd.Flags().StringVarP(&o.listen, "listen", "l", "127.0.0.1:8458", "the proxy's address")
	cmd.Flags().BoolVar(&o.write, "write", false, "write the config files")
	cmd.Flags().BoolVarP(&o.yes, "yes", "y", false, "do not ask before writing")
	cmd.Flags().StringVar(&o.tool, "tool", "all", "pip, uv or all")
	return cmd
}

// oneIndexNote: with several repositories, the proxy's map file replaces
// pip's --extra-index-url (which takes the highest version from any
// index: dependency confusion).
const oneIndexNote = `
# Several repositories (your own and a public one)? Do not add
# extra-index-url / --extra-index-url, and remove PIP_EXTRA_INDEX_URL:
# pip would take the highest version from any index (dependency
# confusion). Run one proxy with a map file instead; this one index
# then serves each project from the repositories the map names:
#   tufpip proxy --map map.json
# (see docs/multirepo.md)
`

func pipConfText(url string) string {
	return fmt.Sprintf("[global]\nindex-url = %s\n", url)
}

func uvTomlText(url string) string {
	return fmt.Sprintf("[[index]]\nname = \"tufpip\"\nurl = %q\ndefault = true\n", url)
}

func runPipConfig(cmd *cobra.Command, g *globals, o *pipConfigOptions) error {
	if o.tool != "all" && o.tool != "pip" && o.tool != "uv" {
		return usagef("--tool must be pip, uv or all, not %q", o.tool)
	}
	url := "http://" + o.listen + "/simple/"
	out := cmd.OutOrStdout()
	pipPath := filepath.Join(xdg.ConfigHome, "pip", "pip.conf")
	uvPath := uvConfigPath()
	files := []struct{ tool, path, text string }{
		{"pip", pipPath, pipConfText(url)},
		{"uv", uvPath, uvTomlText(url)},
	}
	if !o.write {
		for _, f := range files {
			if o.tool == "all" || o.tool == f.tool {
				fmt.Fprintf(out, "# %s\n%s\n", f.path, f.text)
			}
		}
		fmt.Fprintf(out, "# or, per shell (UV_INDEX_URL for uv before 0.4.23)\nexport PIP_INDEX_URL=%s\nexport UV_DEFAULT_INDEX=%s\nexport UV_INDEX_URL=%s\n", url, url, url)
		fmt.Fprint(out, oneIndexNote)
		return nil
	}
	for _, f := range files {
		if o.tool != "all" && o.tool != f.tool {
			continue
		}
		if _, err := os.Stat(f.path); err == nil {
			return usagef("%s already exists; not overwriting it", f.path).withHint("add this to it by hand:\n%s", f.text)
		}
		if !o.yes {
			ok, err := confirm(cmd, g, fmt.Sprintf("write %s pointing %s at %s?", f.path, f.tool, url))
			if err != nil {
				return err
			}
			if !ok {
				fmt.Fprintf(out, "skipped %s\n", f.path)
				continue
			}
		}
		if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
			return err
		}
		if err := copyAtomic(f.path, strings.NewReader(f.text)); err != nil {
			return fmt.Errorf("writing %s: %w", f.path, err)
		}
		fmt.Fprintf(out, "wrote %s\n", f.path)
	}
	return nil
}

// uvConfigPath is where uv reads its user config: $XDG_CONFIG_HOME or
// ~/.config on every Unix, macOS included; %APPDATA% on Windows.
func uvConfigPath() string {
	if runtime.GOOS == "windows" {
		return filepath.Join(os.Getenv("APPDATA"), "uv", "uv.toml")
	}
	base := os.Getenv("XDG_CONFIG_HOME")
	if base == "" {
		home, _ := os.UserHomeDir()
		base = filepath.Join(home, ".config")
	}
	return filepath.Join(base, "uv", "uv.toml")
}

// confirm asks on a terminal; without one it refuses to guess.
func confirm(cmd *cobra.Command, g *globals, question string) (bool, error) {
	f, ok := g.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false, usagef("not asking on a non-interactive input").withHint("pass --yes to write without asking")
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%s [y/N] ", question)
	line, _ := bufio.NewReader(f).ReadString('\n')
	line = strings.ToLower(strings.TrimSpace(line))
	return line == "y" || line == "yes", nil
}
