package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func adminCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "admin", Short: "Administer a Nubo installation"}
	var dataDir string
	openrc := &cobra.Command{
		Use:   "openrc",
		Short: "Print the OS_* variables for the openstack CLI, as the admin",
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := readState(dataDir)
			if err != nil {
				return err
			}
			pw, err := readPassword(dataDir)
			if err != nil {
				return fmt.Errorf("read admin password: %w", err)
			}
			out := cmd.OutOrStdout()
			for _, kv := range [][2]string{
				{"OS_AUTH_URL", st.PublicURL + "/identity/v3"},
				{"OS_AUTH_TYPE", "password"},
				{"OS_USERNAME", "admin"},
				{"OS_PASSWORD", pw},
				{"OS_PROJECT_NAME", "admin"},
				{"OS_USER_DOMAIN_NAME", "Default"},
				{"OS_PROJECT_DOMAIN_NAME", "Default"},
				{"OS_REGION_NAME", st.Region},
				{"OS_IDENTITY_API_VERSION", "3"},
				{"OS_INTERFACE", "public"},
			} {
				fmt.Fprintf(out, "export %s=%s\n", kv[0], shellQuote(kv[1]))
			}
			return nil
		},
	}
	openrc.Flags().StringVar(&dataDir, "data-dir", defaultDataDir(), "the data dir that nubo up uses")
	cmd.AddCommand(openrc)
	return cmd
}

// shellQuote quotes s for POSIX shells.
func shellQuote(s string) string {
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == '/' || r == ':') {
			safe = false
			break
		}
	}
	if safe && s != "" {
		return s
	}
	out := "'"
	for _, r := range s {
		if r == '\'' {
			out += `'\''`
		} else {
			out += string(r)
		}
	}
	return out + "'"
}
