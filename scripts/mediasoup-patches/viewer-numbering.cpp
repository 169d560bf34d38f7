	// OnAir patch (scripts/build-mediasoup-worker.sh): WHEP viewers keep their own numbering. A WHEP
	// answer must use the viewer's payload types and header extension ids, while mediasoup sends the
	// router's. OnAir's consumers carry the viewer's numbers next to the router's ("onair-remote-pt"
	// on codecs, "onair-remote-id" on header extensions); each packet is rewritten into a copy just
	// before SRTP. Extensions the viewer did not negotiate are blanked into padding, so an internal id
	// never reaches the viewer under a number it gave to another extension.
	static const uint8_t* OnAirRemapRtp(const RTC::Consumer* consumer, const uint8_t* data, size_t len)
	{
		thread_local static uint8_t buffer[RTC::MtuSize + 100];

		if (len < 12 || len > sizeof(buffer))
			return data;

		std::memcpy(buffer, data, len);

		if (consumer)
		{
			const uint8_t payloadType = buffer[1] & 0x7F;

			for (const auto& codec : consumer->GetRtpParameters().codecs)
			{
				if (codec.payloadType == payloadType && codec.parameters.HasInteger("onair-remote-pt"))
				{
					const auto remotePayloadType = static_cast<uint8_t>(codec.parameters.GetInteger("onair-remote-pt"));

					buffer[1] = (buffer[1] & 0x80) | (remotePayloadType & 0x7F);

					break;
				}
			}
		}

		if (!(buffer[0] & 0x10))
			return buffer;

		size_t pos = 12 + 4 * static_cast<size_t>(buffer[0] & 0x0F);

		if (pos + 4 > len)
			return buffer;

		const auto profile    = static_cast<uint16_t>((buffer[pos] << 8) | buffer[pos + 1]);
		const size_t extBytes = static_cast<size_t>((buffer[pos + 2] << 8) | buffer[pos + 3]) * 4;

		pos += 4;

		const size_t end = pos + extBytes;

		// mediasoup's producers always write the one-byte form (RFC 8285).
		if (end > len || profile != 0xBEDE)
			return buffer;

		while (pos < end)
		{
			const uint8_t first = buffer[pos];

			if (first == 0)
			{
				++pos;

				continue;
			}

			const uint8_t id = first >> 4;

			if (id == 15)
				break;

			const size_t elementBytes = 1 + static_cast<size_t>(first & 0x0F) + 1;
			uint8_t remoteId          = 0;

			if (consumer)
			{
				for (const auto& ext : consumer->GetRtpParameters().headerExtensions)
				{
					if (ext.id == id && ext.parameters.HasInteger("onair-remote-id"))
					{
						remoteId = static_cast<uint8_t>(ext.parameters.GetInteger("onair-remote-id"));

						break;
					}
				}
			}

			if (remoteId >= 1 && remoteId <= 14)
				buffer[pos] = static_cast<uint8_t>(remoteId << 4) | (first & 0x0F);
			else
				std::memset(buffer + pos, 0, std::min(elementBytes, end - pos));

			pos += elementBytes;
		}

		return buffer;
	}

