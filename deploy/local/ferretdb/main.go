// Command switchboard-ferretdb runs embedded FerretDB (SQLite backend) for local development.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listenAddr := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on")
	sqliteDir := flag.String("sqlite-dir", "data", "directory holding the SQLite database files")
	logLevel := flag.String("log-level", "warn", "log level: debug, info, warn or error")
	syncMode := flag.String("sqlite-sync", "normal",
		"SQLite synchronous mode: normal (survives a crash of this process, not of the machine) or full")
	flag.Parse()

	if *syncMode != "normal" && *syncMode != "full" {
		fmt.Fprintf(os.Stderr, "switchboard-ferretdb: -sqlite-sync must be normal or full, not %q\n", *syncMode)
		os.Exit(1)
	}

	if err := run(*listenAddr, *sqliteDir, *logLevel, *syncMode); err != nil {
		fmt.Fprintf(os.Stderr, "switchboard-ferretdb: %v\n", err)
		os.Exit(1)
	}
}

// sqliteOptions are the connection pragmas. Write transactions take the write lock when they begin
// (_txlock=immediate), so concurrent writers wait their turn instead of failing with SQLITE_BUSY; in WAL
// mode synchronous=normal commits without an fsync each time, which is what makes a local store usable
// at hundreds of writes per second on one disk.
func sqliteOptions(syncMode string) string {
	return "_txlock=immediate&_pragma=synchronous(" + syncMode + ")"
}

func run(listenAddr, sqliteDir, logLevel, syncMode string) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("invalid -log-level %q: %w", logLevel, err)
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(logger)

	dir, err := filepath.Abs(sqliteDir)
	if err != nil {
		return fmt.Errorf("resolving -sqlite-dir: %w", err)
	}

	if err = os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating -sqlite-dir: %w", err)
	}

	// FerretDB requires the SQLite URI to point at a directory, with a trailing slash.
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: listenAddr},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/?" + sqliteOptions(syncMode),
	})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	logger.Info("FerretDB starting", "listen_addr", listenAddr, "sqlite_dir", dir)

	if err = f.Run(ctx); err != nil {
		return err
	}

	logger.Info("FerretDB stopped")

	return nil
}
