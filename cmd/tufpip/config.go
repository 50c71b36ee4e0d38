package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/BurntSushi/toml"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tufpip/tufpip/updater/httpx"
)

// Where a setting's value came from, in order of precedence.
const (
	sourceFlag    = "flag"
	sourceEnv     = "env"
	sourceFile    = "config file"
	sourceDefault = "default"
)

// settingSources records, per flag name, where its value came from.
type settingSources map[string]string

// configPath is the TOML config file: $TUFPIP_CONFIG, else
// <config dir>/config.toml.
func (g *globals) configPath() string {
	if p := os.Getenv("TUFPIP_CONFIG"); p != "" {
		return p
	}
	return filepath.Join(g.dirs().config, "config.toml")
}

// loadConfigFile reads the config file: top-level keys are global flag
// names, tables are subcommands ("[proxy] listen = ..."). A missing file
// is an empty config.
func loadConfigFile(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]any{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading config file: %w", err)
	}
	m := map[string]any{}
	if _, err := toml.Decode(string(data), &m); err != nil {
		return nil, usagef("config file %s: %v", path, err)
	}
	return m, nil
}

// applySettings fills flags, lowest precedence last: a flag given on the
// command line wins over TUFPIP_<FLAG>, which wins over the config file.
func (g *globals) applySettings(cmd *cobra.Command) error {
	g.sources = settingSources{}
	mark := func(fs *pflag.FlagSet) {
		fs.VisitAll(func(f *pflag.Flag) {
			if f.Changed {
				g.sources[f.Name] = sourceFlag
			}
		})
	}
	global := cmd.Root().PersistentFlags()
	local := cmd.Flags()
	mark(global)
	mark(local)
	for _, fs := range []*pflag.FlagSet{global, local} {
		if err := applyEnv(fs, g.sources); err != nil {
			return err
		}
	}
	file, err := loadConfigFile(g.configPath())
	if err != nil {
		return err
	}
	g.configFile = file
	set := func(fs *pflag.FlagSet, table map[string]any, where string) error {
		for key, v := range table {
			if _, isTable := v.(map[string]any); isTable {
				continue
			}
			f := fs.Lookup(key)
			if f == nil {
				if where == "" && isKnownFlag(cmd.Root(), key) {
					continue // a flag of another command
				}
				return usagef("config file %s: unknown setting %q%s", g.configPath(), key, where)
			}
			if key == "home" {
				return usagef("config file %s: \"home\" cannot be set in the config file it locates", g.configPath())
			}
			if _, done := g.sources[key]; done {
				continue
			}
			var s string
			switch x := v.(type) {
			case []any:
				parts := make([]string, len(x))
				for i, e := range x {
					parts[i] = fmt.Sprint(e)
				}
				s = strings.Join(parts, ",")
			default:
				s = fmt.Sprint(x)
			}
			if err := fs.Set(key, s); err != nil {
				return usagef("config file %s: %s = %v: %v", g.configPath(), key, v, err)
			}
			g.sources[key] = sourceFile
		}
		return nil
	}
	if err := set(global, file, ""); err != nil {
		return err
	}
	if table, ok := file[cmd.Name()].(map[string]any); ok && cmd != cmd.Root() {
		if err := set(local, table, " in ["+cmd.Name()+"]"); err != nil {
			return err
		}
	}
	return nil
}

func isKnownFlag(root *cobra.Command, name string) bool {
	if root.PersistentFlags().Lookup(name) != nil {
		return true
	}
	for _, c := range root.Commands() {
		if c.Flags().Lookup(name) != nil {
			return true
		}
	}
	return false
}

func newConfigCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "config",
		Short: "Show the effective settings and where each came from",
		Long: `tufpip reads settings from, highest precedence first:

  1. command-line flags            --freshness 10m
  2. environment variables         TUFPIP_FRESHNESS=10m (every flag: TUFPIP_ + name
                                   in upper case, dashes as underscores)
  3. the config file               freshness = "10m"
  4. built-in defaults

The config file is TOML at $XDG_CONFIG_HOME/tufpip/config.toml (or
<home>/config/config.toml with --home, or $TUFPIP_CONFIG). Top-level keys
are global flag names; a table per command holds that command's flags:

  repository = "corp"
  freshness  = "10m"

  [proxy]
  listen = "127.0.0.1:8458"

Registered repositories live beside it in repositories/NAME.json
(written by "tufpip init").`,
	}
	var asJSON bool
	show := &cobra.Command{
		Use:   "show",
		Short: "Print every setting, its value and its source",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			type row struct {
				Command string `json:"command,omitempty"`
				Name    string `json:"name"`
				Value   string `json:"value"`
				Source  string `json:"source"`
			}
			var rows []row
			add := func(command string, fs *pflag.FlagSet, sources settingSources, values map[string]string) {
				fs.VisitAll(func(f *pflag.Flag) {
					if f.Name == "help" || f.Name == "version" || f.Hidden {
						return
					}
					src := sources[f.Name]
					if src == "" {
						src = sourceDefault
					}
					v, ok := values[f.Name]
					if !ok {
						v = f.Value.String()
					}
					// A URL may hold a password (from the file, the
					// environment or a flag): never shown.
					rows = append(rows, row{command, f.Name, httpx.SafeLine(v), src})
				})
			}
			add("", cmd.Root().PersistentFlags(), g.sources, nil)
			for _, sub := range cmd.Root().Commands() {
				if sub.Name() == "config" || sub.Hidden || !sub.HasAvailableLocalFlags() {
					continue
				}
				table, _ := g.configFile[sub.Name()].(map[string]any)
				// Another command's flags are not parsed now: show what
				// it would get from the environment and the file.
				sources, values := settingSources{}, map[string]string{}
				sub.LocalFlags().VisitAll(func(f *pflag.Flag) {
					name := "TUFPIP_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
					if v, ok := os.LookupEnv(name); ok {
						sources[f.Name], values[f.Name] = sourceEnv+" "+name, v
					} else if v, ok := table[f.Name]; ok {
						sources[f.Name], values[f.Name] = sourceFile, fmt.Sprint(v)
					}
				})
				add(sub.Name(), sub.LocalFlags(), sources, values)
			}
			sort.SliceStable(rows, func(i, j int) bool { return rows[i].Command < rows[j].Command })
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"config_file": g.configPath(), "settings": rows})
			}
			fmt.Fprintf(out, "config file: %s\n\n", g.configPath())
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SETTING\tVALUE\tSOURCE")
			for _, r := range rows {
				name := r.Name
				if r.Command != "" {
					name = r.Command + "." + r.Name
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", name, r.Value, r.Source)
			}
			return tw.Flush()
		},
	}
	show.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.AddCommand(show)
	return c
}
