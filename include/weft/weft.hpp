// <weft/weft.hpp> — both models: weft::os (1:1) and weft::fiber (M:N).
#pragma once

#include <weft/fiber.hpp>
#include <weft/os.hpp>
