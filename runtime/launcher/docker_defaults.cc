#include "launcher/docker_defaults.h"
