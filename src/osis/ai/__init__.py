"""The ai domain served by OSIS: hero_agent's audit log, usage log, memories and conversations."""
