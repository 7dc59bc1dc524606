// The subcommands of build/hyperclip, one file each (cli/cmd_<name>.cpp).
#pragma once

namespace hc::cli {

// argc/argv start after the subcommand name.
int cmd_params(int argc, char** argv);

}  // namespace hc::cli
