# Homebrew formula for the mfacli tap (github.com/mfacli/homebrew-tap, file
# Formula/mfacli.rb). A template: .github/workflows/release.yml fills in
# @VERSION@ and each archive's @SHA256_<target>@ and attaches the result to
# the release; copy it into the tap (or let the workflow push it, see there).
#   brew install mfacli/tap/mfacli
class Mfacli < Formula
  desc "MFA-aware AWS credential helper for the bastion-account pattern"
  homepage "https://github.com/mfacli/mfacli"
  version "@VERSION@"
  license "MIT"

  on_macos do
    on_arm do
      url "https://github.com/mfacli/mfacli/releases/download/v@VERSION@/mfacli-aarch64-apple-darwin.tar.gz"
      sha256 "@SHA256_aarch64-apple-darwin@"
    end
    on_intel do
      url "https://github.com/mfacli/mfacli/releases/download/v@VERSION@/mfacli-x86_64-apple-darwin.tar.gz"
      sha256 "@SHA256_x86_64-apple-darwin@"
    end
  end

  on_linux do
    on_arm do
      url "https://github.com/mfacli/mfacli/releases/download/v@VERSION@/mfacli-aarch64-unknown-linux-musl.tar.gz"
      sha256 "@SHA256_aarch64-unknown-linux-musl@"
    end
    on_intel do
      url "https://github.com/mfacli/mfacli/releases/download/v@VERSION@/mfacli-x86_64-unknown-linux-musl.tar.gz"
      sha256 "@SHA256_x86_64-unknown-linux-musl@"
    end
  end

  def install
    bin.install "mfacli"
    man1.install Dir["man/man1/*.1"]
    bash_completion.install "completions/mfacli.bash" => "mfacli"
    zsh_completion.install "completions/_mfacli"
    fish_completion.install "completions/mfacli.fish"
  end

  test do
    assert_match "mfacli #{version}", shell_output("#{bin}/mfacli --version")
    assert_match "GetSessionToken", shell_output("#{bin}/mfacli policy bastion")
  end
end
