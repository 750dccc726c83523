package accounts

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"yujing/web/auth"
)

// ReadPassword reads a new password: env when it is not empty (the
// YUJING_PASSWORD of the command line), else twice without echo from in
// when it is a terminal, prompting on prompt, else the first line of in.
// It is checked against auth's rules (auth.CheckPassword).
func ReadPassword(env string, in io.Reader, prompt io.Writer) (string, error) {
	if env != "" {
		return env, auth.CheckPassword(env)
	}
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(prompt, "New password: ")
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", err
		}
		if err := auth.CheckPassword(string(p1)); err != nil {
			return "", err
		}
		fmt.Fprint(prompt, "Again: ")
		p2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", err
		}
		if string(p1) != string(p2) {
			return "", errors.New("the passwords differ")
		}
		return string(p1), nil
	}
	if in == nil {
		return "", errors.New("password: set YUJING_PASSWORD or give it on standard input")
	}
	line, err := bufio.NewReader(io.LimitReader(in, auth.MaxPassword+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("password: read standard input: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("password: set YUJING_PASSWORD or give it on standard input")
	}
	return pw, auth.CheckPassword(pw)
}
