"""Business logic with state or several SMSC calls, free of aiogram."""
